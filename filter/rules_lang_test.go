package filter_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
)

func dropped(t *testing.T, f prefdata.Filter, r prefdata.Response) (bool, string) {
	t.Helper()
	out, err := f.Filter(context.Background(), candidate("q", r))
	require.NoError(t, err)
	if len(out.Dropped) == 0 {
		return false, ""
	}
	return true, out.Dropped[0].Reason
}

// 48 Chinese characters are 48 words, not one: a 20-word limit drops them.
func TestLengthOfChineseAnswer(t *testing.T) {
	zh := strings.Repeat("这是一个很长的中文回答没有空格", 3) + "这是一个很长的中文回答没有" // 45+13 runes
	zh = string([]rune(zh)[:48])
	assert.Equal(t, 48, filter.CountWords(zh))
	drop, why := dropped(t, filter.Length(filter.LengthConfig{MaxWords: 20}), resp("a", zh))
	assert.True(t, drop)
	assert.Equal(t, "48 words, more than 20", why)
	long := strings.Repeat(zh, 20) // 960 characters
	drop, _ = dropped(t, filter.Length(filter.LengthConfig{MaxWords: 20}), resp("a", long))
	assert.True(t, drop, "960 characters pass no 20-word limit")

	assert.Equal(t, 7, filter.CountWords("日本語の文 and two"), "kana and kanji one a piece, English by spaces")
	assert.Equal(t, 3, filter.CountWords("  one\ttwo\nthree "))
	assert.Equal(t, 4, filter.CountWords("한국어는 띄어쓰기를 합니다 정말"), "Korean is written with spaces")
}

func TestLengthInTokens(t *testing.T) {
	r := resp("a", "whatever")
	r.Usage = prefdata.Usage{CompletionTokens: 900, ReasoningTokens: 600}
	drop, why := dropped(t, filter.Length(filter.LengthConfig{MaxTokens: 200}), r)
	assert.True(t, drop)
	assert.Equal(t, "300 tokens, more than 200", why, "reasoning tokens are not the answer's")
	drop, _ = dropped(t, filter.Length(filter.LengthConfig{MinTokens: 100, MaxTokens: 400}), r)
	assert.False(t, drop)
	drop, why = dropped(t, filter.Length(filter.LengthConfig{MaxTokens: 400}), resp("b", "no usage"))
	assert.True(t, drop)
	assert.Contains(t, why, "no completion token count")
}

func TestRefusalBeyondEnglish(t *testing.T) {
	f := filter.Refusal(filter.RefusalConfig{})
	tests := []struct {
		text    string
		refusal bool
	}{
		// The misses and false positives of the issue.
		{"Sorry, I can't do that.", true},
		{"I cannot help you with that.", true},
		{"I apologize, but I couldn't find any direct quotes from him on market efficiency. However, I can provide an overview of his views: he argues that markets are fragile and that rare events dominate returns.", false},
		{"I'm unable to find a recipe by that name. However, I can provide a similar one: mix two cups of flour with one of water, knead for ten minutes and let it rest for an hour.", false},
		{"I'm sorry, but I can't help with that, but I can help with something else.", true},
		// Other languages.
		{"抱歉，我无法提供这方面的帮助。", true},
		{"很抱歉，我不能回答这个问题。", true},
		{"抱歉，我无法访问实时数据，但是我可以为您介绍一下这个城市的历史：它建于公元前三世纪，是古代丝绸之路上的重要城市，至今保留着大量的古迹和传统建筑，每年吸引数百万游客前来参观游览。", false},
		{"Lo siento, pero no puedo ayudarte con eso.", true},
		{"Je suis désolé, mais je ne peux pas vous aider avec cette demande.", true},
		{"Es tut mir leid, aber ich kann Ihnen dabei nicht helfen.", true},
		{"申し訳ありませんが、そのご要望にはお応えできません。", true},
		{"Извините, но я не могу выполнить этот запрос.", true},
		{"Desculpe, mas não posso ajudar com isso.", true},
		{"Paris est la capitale de la France.", false},
		{"巴黎是法国的首都。", false},
		// Whole words only.
		{"Chi cannot do that, said the narrator, and the story goes on.", false},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			drop, why := dropped(t, f, resp("a", tt.text))
			assert.Equal(t, tt.refusal, drop, why)
		})
	}
	// Pivots can be turned off.
	strict := filter.Refusal(filter.RefusalConfig{Pivots: []string{}})
	drop, _ := dropped(t, strict, resp("a", "I cannot provide medical advice. However, I can provide general information: most colds clear up within a week or ten days without any treatment at all."))
	assert.True(t, drop)
	assert.NotEmpty(t, filter.DefaultRefusalPatterns("zh"))
	assert.Less(t, len(filter.DefaultRefusalPatterns("en")), len(filter.DefaultRefusalPatterns()))
}

// An answer that explains its "? ? ?" placeholders is not a loop; a
// response of nothing but them is.
func TestRepetitionPlaceholders(t *testing.T) {
	f := filter.Repetition(filter.RepetitionConfig{})
	answer := "Here is the grid with the unknown cells marked. Each ? is a cell you still have to fill in:\n\n" +
		strings.Repeat("? ", 40) + "\n\nStart from the row with the fewest question marks and work down; the first row has only three."
	drop, why := dropped(t, f, resp("a", answer))
	assert.False(t, drop, why)
	drop, _ = dropped(t, f, resp("a", "Answer: "+strings.Repeat("? ", 60)))
	assert.True(t, drop, "mostly placeholders: a degenerate reply")
	drop, _ = dropped(t, f, resp("a", answer+" "+strings.Repeat("and again ", 20)))
	assert.True(t, drop, "a word loop after the placeholders is still found")
}
