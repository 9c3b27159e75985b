package filter

// Refusal phrases and "pivots" by language, lowercased, with straight
// quotes and ASCII commas (the filter folds curly quotes and full-width
// commas before matching). A phrase states that the model will not or
// cannot do the task; a pivot introduces help that follows anyway ("However,
// I can provide ...", "Here are ..."), which turns an apology into a caveat.

var refusalPhrases = map[string][]string{
	"en": {
		"i'm sorry, but i can't", "i'm sorry, but i cannot", "i am sorry, but i cannot", "i am sorry, but i can't",
		"i'm sorry, i can't", "i'm sorry, i cannot", "sorry, i can't", "sorry, i cannot", "sorry, but i can't", "sorry, but i cannot",
		"i apologize, but i cannot", "i apologize, but i can't", "i apologise, but i cannot", "i apologise, but i can't",
		"i apologize, but i am unable", "i apologize, but i'm unable", "i apologize, but i won't",
		"i'm afraid i can't", "i'm afraid i cannot",
		"i cannot fulfill", "i can't fulfill", "i cannot satisfy", "i can't satisfy",
		"i cannot assist", "i can't assist", "i cannot help with", "i can't help with", "i cannot help you", "i can't help you",
		"i cannot provide", "i can't provide", "i will not provide", "i won't provide",
		"i'm not able to provide", "i am not able to provide", "i'm not able to help", "i am not able to help",
		"i'm unable to provide", "i am unable to provide", "i'm unable to help", "i am unable to help",
		"i'm unable to assist", "i am unable to assist", "i'm unable to do", "i am unable to do",
		"i'm unable to answer", "i am unable to answer", "i cannot answer", "i can't answer",
		"i cannot complete this", "i can't complete this", "i cannot comply", "i can't comply",
		"i cannot create", "i can't create", "i cannot write", "i can't write", "i cannot generate", "i can't generate",
		"i cannot do that", "i can't do that", "i cannot do this", "i can't do this",
		"i cannot form an opinion", "i can't form an opinion",
		"i won't be able to", "i must decline", "i'm not comfortable", "i am not comfortable",
		"as an ai language model, i cannot", "as an ai language model, i can't", "as an ai, i cannot", "as an ai, i can't",
		"it is not within my programming", "it's not within my programming",
		"i won't write", "i will not write", "i won't help", "i will not help", "i'm not going to help", "i am not going to help",
		"i do not have access to real-time", "i don't have access to real-time", "do not have access to real-time information",
	},
	"zh": {
		"抱歉,我无法", "抱歉,我不能", "对不起,我无法", "对不起,我不能", "很抱歉,我无法", "很抱歉,我不能",
		"我无法提供", "我不能提供", "我无法帮助", "我不能帮助", "我无法帮你", "我不能帮你", "我无法协助", "我不能协助",
		"我无法满足", "我不能满足", "我无法回答", "我不能回答", "我无法完成", "我不能完成", "我无法为您", "我不能为您",
		"作为一个人工智能,我无法", "作为一个人工智能,我不能", "作为人工智能,我无法", "作为ai,我无法", "我拒绝", "我不会帮你", "我不会帮助",
	},
	"es": {
		"lo siento, pero no puedo", "lo siento, no puedo", "me temo que no puedo", "disculpa, pero no puedo", "disculpe, pero no puedo",
		"no puedo ayudarte con", "no puedo ayudarle con", "no puedo ayudar con", "no puedo proporcionar", "no puedo cumplir",
		"no puedo hacer eso", "no puedo responder", "no puedo crear", "no puedo escribir", "no puedo generar",
		"no estoy en condiciones de", "no me es posible", "como modelo de lenguaje, no puedo", "como ia, no puedo",
	},
	"fr": {
		"je suis désolé, mais je ne peux pas", "je suis désolée, mais je ne peux pas", "désolé, mais je ne peux pas", "désolé, je ne peux pas",
		"je ne peux pas vous aider", "je ne peux pas t'aider", "je ne peux pas fournir", "je ne peux pas répondre",
		"je ne peux pas faire cela", "je ne peux pas faire ça", "je ne peux pas créer", "je ne peux pas écrire", "je ne peux pas générer",
		"je ne suis pas en mesure de", "je crains de ne pas pouvoir", "je refuse de",
		"en tant qu'ia, je ne peux pas", "en tant que modèle de langage, je ne peux pas",
	},
	"de": {
		"es tut mir leid, aber ich kann", "tut mir leid, aber ich kann", "tut mir leid, ich kann", "leider kann ich",
		"ich kann ihnen dabei nicht helfen", "ich kann dir dabei nicht helfen", "ich kann ihnen nicht helfen", "ich kann dir nicht helfen",
		"ich kann diese anfrage nicht", "ich kann das nicht tun", "ich kann keine informationen", "ich bin nicht in der lage",
		"als ki kann ich", "als ki-sprachmodell kann ich", "als sprachmodell kann ich", "ich darf keine",
	},
	"ja": {
		"お手伝いできません", "お答えできません", "回答できません", "提供できません", "お応えできません", "できかねます",
		"お手伝いすることはできません", "提供することはできません", "お答えすることはできません", "作成することはできません",
		"対応できません", "応じることはできません",
	},
	"ru": {
		"извините, но я не могу", "простите, но я не могу", "к сожалению, я не могу", "я не могу помочь", "я не могу предоставить",
		"я не могу выполнить", "я не могу ответить", "я не могу создать", "я не могу написать", "я не в состоянии",
		"как ии, я не могу", "как языковая модель, я не могу", "я вынужден отказаться", "не могу выполнить этот запрос",
	},
	"pt": {
		"desculpe, mas não posso", "desculpe, não posso", "sinto muito, mas não posso", "lamento, mas não posso", "infelizmente, não posso",
		"não posso ajudar", "não posso fornecer", "não posso cumprir", "não posso responder", "não posso criar", "não posso escrever",
		"não posso fazer isso", "não sou capaz de", "como modelo de linguagem, não posso", "como ia, não posso",
	},
}

var refusalPivots = map[string][]string{
	"en": {"however, i can", "but i can", "i can provide", "i can tell you", "i can offer", "i can suggest", "i can give you", "here is", "here's", "here are"},
	"zh": {"但是我可以", "但我可以", "不过我可以", "不过,我可以", "我可以为您提供", "我可以提供", "我可以告诉你", "我可以告诉您", "以下是"},
	"es": {"sin embargo, puedo", "pero puedo", "puedo ofrecerte", "puedo proporcionarte", "puedo darte", "aquí tienes", "aquí está", "aquí hay", "a continuación"},
	"fr": {"cependant, je peux", "mais je peux", "je peux vous proposer", "je peux vous donner", "je peux vous fournir", "voici"},
	"de": {"aber ich kann", "jedoch kann ich", "allerdings kann ich", "ich kann ihnen aber", "hier ist", "hier sind"},
	"ja": {"ただし", "代わりに", "以下は", "以下に"},
	"ru": {"однако я могу", "однако, я могу", "но я могу", "могу предложить", "могу рассказать", "вот "},
	"pt": {"no entanto, posso", "mas posso", "porém, posso", "posso oferecer", "posso fornecer", "aqui está", "aqui estão"},
}

// RefusalLanguages lists the languages of [DefaultRefusalPatterns] and
// [DefaultRefusalPivots]: English, Chinese, Spanish, French, German,
// Japanese, Russian and Portuguese.
func RefusalLanguages() []string { return []string{"en", "zh", "es", "fr", "de", "ja", "ru", "pt"} }

func byLanguage(table map[string][]string, langs []string) []string {
	if len(langs) == 0 {
		langs = RefusalLanguages()
	}
	var out []string
	for _, l := range langs {
		out = append(out, table[l]...)
	}
	return out
}
