# Sourced by .ci/run: installs Ollama with the Go client if it is missing,
# starts it on loopback with its state in a temporary folder, loads the tiny
# GGUF model from ../shared under two model names, and exports
# PREFDATA_OLLAMA_URL for the integration tests. Stops it on exit.
ollama_port=11556
shared_model="$PWD/../shared/models/llama-2-tiny-random.gguf"
if [ ! -f "$shared_model" ]; then
  echo "ollama: $shared_model is absent; integration tests will skip"
  return 0
fi
if ! command -v ollama >/dev/null 2>&1; then
  echo "ollama: installing with go install (a few minutes of cgo build)"
  go install github.com/ollama/ollama@v0.9.0
fi
ollama_tmp=$(mktemp -d)
OLLAMA_HOST=127.0.0.1:$ollama_port OLLAMA_MODELS=$ollama_tmp/models HOME=$ollama_tmp \
  ollama serve >"$ollama_tmp/serve.log" 2>&1 &
ollama_pid=$!
trap 'kill $ollama_pid 2>/dev/null; wait $ollama_pid 2>/dev/null; rm -rf "$ollama_tmp"' EXIT
ollama_up=""
for _ in $(seq 1 60); do
  if curl -fsS "http://127.0.0.1:$ollama_port/api/version" >/dev/null 2>&1; then ollama_up=1; break; fi
  sleep 1
done
if [ -z "$ollama_up" ]; then
  echo "ollama: the server did not answer on 127.0.0.1:$ollama_port within 60s:" >&2
  cat "$ollama_tmp/serve.log" >&2
  return 1
fi
printf 'FROM %s\n' "$shared_model" >"$ollama_tmp/Modelfile"
for name in tiny-a tiny-b; do
  if ! OLLAMA_HOST=127.0.0.1:$ollama_port ollama create "$name" -f "$ollama_tmp/Modelfile" >"$ollama_tmp/create.log" 2>&1; then
    echo "ollama: creating model $name failed:" >&2
    cat "$ollama_tmp/create.log" >&2
    return 1
  fi
done
export PREFDATA_OLLAMA_URL="http://127.0.0.1:$ollama_port/v1"
export PREFDATA_OLLAMA_MODELS="tiny-a,tiny-b"
echo "ollama: serving tiny-a and tiny-b at $PREFDATA_OLLAMA_URL"
