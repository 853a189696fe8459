"""Social messages and requests for a person, told apart from questions. Pure rules, no I/O.

Every chat message passes through `detect_intent` before retrieval. It recognises five intents:

- greeting / thanks / goodbye: the message is (only, or mainly) social: "hi", "thanks!", "ok thanks
  bye", 你好, 多謝, 先這樣，謝謝. A social opening or closing around a real question is peeled off and
  the question is returned in `rest` for the caller to answer ("hi, how do I reset my password?").
  A question announced but not asked ("hi, I have a question", 你好，我有事想问一下) is no question:
  the greeting has an empty `rest`; so is "anyone here?" after a greeting (你好，有人在吗).
  When a message both thanks and closes ("thanks, bye"), goodbye wins: it is the last thing said.
- human: the user asks for a person (转人工, 找真人, "talk to a human", "connect me to the service
  desk"). Whatever else the message says (a topic: "... about my payslip") is in `rest`.
- not_helpful: the previous answer did not help, and nothing else is asked ("that didn't help",
  答非所问, 這不是我要的, a lone 👎). A complaint that carries a question is a question: None.

Why rules and not a model: the class is small and closed (a few hundred phrasings cover nearly all
of it), the check runs on every message before retrieval so it must cost microseconds, and a wrong
call has to be explainable and fixable by adding or narrowing one pattern. A classifier would need
labelled data per language and could not say why "Hello Kitty mugs" is not a greeting.

How: the text is normalised (NFKC, lower case, curly apostrophes, emoji and symbols as spaces but
👎/👍, Traditional folded to Simplified) with a map back to the original characters, so `rest` is
cut from the message as the user typed it. A request for a person is searched for anywhere (it wins
over everything). Otherwise closed "units" (a greeting, a thanks, a goodbye, a complaint, an
acknowledgement, a filler like "ok"/嗯/"I have a question") are peeled off the start and the end;
what is left in the middle is the rest. A Latin unit counts only as a whole word, and when a word
follows it without punctuation, that word must open a sentence ("hi how do I ..."), so "hello
kitty", "thank-you card", "thanks to whom", "hi-res" and "byebug" are not social. Chinese has no
spaces, so the Chinese units instead list the few compounds they must not start (感恩节, 感谢信, 你好像, 再见面).

Limits: only these phrasings in these three languages (plus a few loan greetings); sarcasm ("great,
just great"), negation ("I don't need a human") and long run-on messages without punctuation are
not understood. An acknowledgement alone ("got it", 明白了) counts as thanks, but one in front of a
question does not make it social; a lone filler ("ok", 好的) is not an intent. Messages longer than
`_MAX_CHARS` are never social.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from app.lang import HAN, to_simplified

__all__ = ["Intent", "IntentMatch", "detect_intent"]

Intent = Literal["greeting", "thanks", "goodbye", "human", "not_helpful"]


@dataclass(frozen=True)
class IntentMatch:
    intent: Intent
    rest: str  # what is left of the message once the social phrase is removed ("" when nothing)


# a social message is short; past this it is a pasted log or a long story, and answering it is safer
_MAX_CHARS = 500
# how far back from the end a closing ("..., thanks so much, bye!") is looked for
_MAX_TAIL_CHARS = 80

# ---------------------------------------------------------------------------------------------------
# Units. Patterns run on the normalised text (lower case, Simplified, straight apostrophes).
# ---------------------------------------------------------------------------------------------------

Kind = Literal["greeting", "thanks", "goodbye", "not_helpful", "ack", "filler"]
# What may follow a unit at the front of the message:
#   free: anything (Chinese: no spaces, the pattern itself excludes the compounds it must not start)
#   clause: only punctuation, the end, or another unit (risky words: "later", "night", 先这样, 好)
#   starter: as clause, or a word that opens a sentence ("hi how do I ..."), or Chinese
Follow = Literal["free", "clause", "starter"]


@dataclass(frozen=True)
class _Unit:
    kind: Kind
    pattern: re.Pattern[str]
    follow: Follow
    # may close a question with no punctuation before it ("how do I apply thanks", "年假有几天谢谢")
    loose_closing: bool = False


def _en(body: str) -> re.Pattern[str]:
    # a whole Latin word: not inside a word, nor glued by a hyphen or apostrophe ("hi-res", "byebug")
    return re.compile(rf"(?<![a-z0-9])(?<![a-z0-9][-'])(?:{body})(?![a-z0-9]|[-'][a-z0-9])")


def _zh(body: str) -> re.Pattern[str]:
    return re.compile(body)


_ZH_PARTICLES = r"(?:呀|啊|吖|哇|哦|喔|噢|啦|了|哈|咯|嘞|吧|啰|喽|哟|唷|呦|嘛|哒|~)*"
# the one a greeting addresses, in either language and after a space too ("hello 小助手", "哈喽 AskDesk")
_ADDRESSEE = r"(?:\s*(?:askdesk|ask\s+desk|小助手|助手|机器人)(?![a-z0-9]))"

_GREETING_EN = _en(
    r"(?:h+i+(?:ya+)?|he+y+a*|h+e+l+o+|h[ae]l+o+|hul+o+|howdy|yo+|sup|wass+up|wh?at'?s\s+up|greetings"
    r"|g'?day|good\s+(?:morning|afternoon|evening|day)|morning|afternoon|evening|gm"
    r"|how\s+(?:are|r)\s+(?:you|u|ya)(?:\s+doing)?(?:\s+today)?|how'?s\s+it\s+going|how\s+is\s+it\s+going"
    r"|how\s+(?:are|r)\s+things|how\s+do\s+you\s+do|nice\s+to\s+meet\s+you|hola|bonjour|ni\s*hao"
    r"|(?:is\s+)?any\s*(?:one|body)\s+(?:there|here|around|home)|(?:are\s+)?you\s+there)"
    # "hi there", "hello askdesk", "hey team": the one addressed is part of the greeting
    r"(?:\s+(?:there|all|everyone|everybody|team|folks|guys|y'?all|friend|mate|buddy|askdesk|ask\s*desk"
    rf"|bot|again)|,\s*(?:all|everyone|everybody|team|folks|guys|y'?all|askdesk|bot)|{_ADDRESSEE})*"
)
# the name of the thing thanked for; an open clause is taken too when it does not end in "?"
_THANKED_FOR = (
    r"(?:the|your|all\s+(?:the|your)|this|that)?\s*(?:help|answers?|info|information|repl(?:y|ies)|response"
    r"|quick\s+(?:reply|response|answer)|explanation|clarification|support|time|assistance|guidance|link"
    r"|details|update|everything|checking|patience|that|this)"
)
_THANKS_EN = _en(
    r"(?:tha+nk(?:s+|\s*(?:yo+u+|u+|ya|ye))|thank-you|thnx|thanx|thnks|thks|tnx|thx+|ty+|tysm|tyvm|3q"
    r"|cheers|many\s+thanks|big\s+thanks|much\s+appreciated|appreciated"
    r"|(?:i\s+)?(?:really\s+)?appreciate\s+(?:it|that|this|the\s+help|your\s+help|you)"
    r"|merci|danke|gracias|arigato)"
    # "thanks for explaining the leave rules": the whole clause is the thanks unless it ends in "?";
    # then only a closed list of things thanked for ("thanks for the help how do I ...?")
    r"(?:\s+(?:a\s+lot\s+)?for\s+(?!nothing\b)[^,.!?;:\n]{1,60}?(?=\s*(?:[,.!;:\n]|$))"
    rf"|\s+(?:so\s+|very\s+)+much|\s+a\s+(?:lot|bunch|ton|million)|\s+heaps|\s+again|\s+anyways?|\s+all"
    rf"|\s+in\s+advance|,?\s+(?:askdesk|bot|team|mate|buddy)|\s+(?:a\s+lot\s+)?for\s+{_THANKED_FOR})*"
)
_ACK_EN = _en(
    r"(?:great|perfect|awesome|excellent|brilliant|amazing|wonderful|fantastic|cool|nice|sweet|lovely|super"
    r"|neat|got\s+it|gotcha|understood|makes\s+sense|that\s+makes\s+sense|noted|i\s+see"
    r"|(?:that|this|it)\s+(?:really\s+)?help(?:s|ed)(?:\s+a\s+lot)?"
    r"|(?:that|this|it)(?:'s|\s+is|\s+was)\s+(?:very\s+|really\s+|super\s+|so\s+|exactly\s+)?"
    r"(?:helpful|useful|great|perfect|clear|what\s+i\s+needed)"
    r"|(?:very|really|super|so)\s+helpful|helpful|(?:that|it)\s+works|works\s+(?:for\s+me|now)"
    r"|(?:that|it)\s+worked|(?:that\s+)?solved\s+it|problem\s+solved|all\s+good|sounds\s+good"
    r"|good\s+to\s+know|will\s+do|(?:that|this)\s+answers\s+(?:it|my\s+question))"
)
_GOODBYE_EN = _en(
    r"(?:bye\s+for\s+now|by+e+(?:\s*by+e+)*|good\s*-?\s*bye"
    r"|see\s+(?:you|ya|u)(?:\s+(?:later|soon|tomorrow|around|next\s+time))?"
    r"|cya|talk\s+(?:to\s+you\s+)?(?:later|soon)|ttyl|take\s+care|catch\s+you\s+later"
    r"|have\s+a\s+(?:good|nice|great|lovely|wonderful)\s+(?:day|one|night|evening|weekend|week|afternoon)"
    r"|good\s*night|g'?night|that'?s\s+all(?:\s+(?:for\s+now|for\s+today|i\s+needed|i\s+need))?|that\s+is\s+all"
    r"|that'?s\s+it(?:\s+for\s+(?:now|today))?|that(?:'ll|\s+will)\s+be\s+all|nothing\s+else"
    r"|no\s+(?:more|further|other)\s+questions?|i'?m\s+done|i\s+am\s+done|all\s+done"
    r"|(?:i'?m\s+|we'?re\s+)?all\s+set|i'?m\s+good(?:\s+now)?|signing\s+off|over\s+and\s+out"
    # declining more help closes the conversation ("anything else?" - "no thanks")
    r"|no[,\s]+(?:tha+nks+|thank\s*you|thx)|no\s+need|farewell|adios|ciao|peace\s+out|until\s+next\s+time)"
)
# farewells only when they stand alone ("later" / "night shift allowance?", "gotta go" / "I have to go
# to the office on Saturday?", "that's everything" / "that's everything I need to bring?")
_GOODBYE_EN_ALONE = _en(
    r"(?:later|laters|nite|night|gn|gtg|g2g"
    r"|(?:(?:i|i'?ve|we|we'?ve)\s+)?(?:gotta|got\s+to|have\s+to|need\s+to|must|better)\s+"
    r"(?:run|go|dash|head\s+off|jump\s+off)"
    r"(?:\s+now)?|(?:i'?m|i\s+am|we'?re)\s+(?:off|heading\s+(?:off|out)|logging\s+off|out)(?:\s+now)?"
    r"|(?:that'?s|that\s+is|that\s+was)\s+(?:everything|all\s+from\s+me|it\s+from\s+me)"
    r"(?:\s+for\s+(?:now|today))?"
    r"|(?:let'?s|i'?ll|we'?ll)\s+(?:leave\s+it|stop|call\s+it\s+a\s+day)(?:\s+(?:there|here|at\s+that))?"
    r"|talk\s+(?:to\s+you\s+)?(?:again\s+)?(?:another\s+time|tomorrow|next\s+time))"
)

_NH_SUBJ = (
    r"(?:that|this|it|you|what\s+you\s+said|(?:that|this|the|your)\s+"
    r"(?:answer|reply|response|suggestion|link|article|info|solution))"
)
_NH_NEG_DO = r"(?:did\s*n'?t|did\s+not|does\s*n'?t|does\s+not|do\s*n'?t|do\s+not)"
_NH_BE_NOT = r"(?:'?s\s+not|'?re\s+not|\s+(?:is|was|are)\s*n'?t|\s+(?:is|was|are)\s+not)"
_NH_BE = r"(?:'?s|'?re|\s+is|\s+was|\s+are)"
_NH_ADV = r"(?:\s+(?:really|still|just|totally|completely|honestly|even|actually|so|very|quite|utterly))*"
_NH_WHAT_I_ASKED = (
    r"what\s+i\s+(?:asked|wanted|meant|needed|was\s+(?:asking|looking|after)|am\s+looking|'?m\s+looking"
    r"|was\s+asking\s+about)(?:\s+(?:for|about))?"
)
_NOT_HELPFUL_EN = _en(
    # "but that didn't help", "i tried that, it still doesn't work": the lead-in belongs to it
    r"(?:(?:but|however|unfortunately|sadly|sorry)[,\s]+)?"
    r"(?:i\s+(?:already\s+)?tried\s+(?:that|it|this|those)(?:\s+already)?[,\s]+(?:but\s+)?)?"
    r"(?:"
    rf"(?:{_NH_SUBJ}\s+)?(?:still\s+|really\s+|just\s+)?{_NH_NEG_DO}\s+(?:really\s+|even\s+)?"
    r"(?:help|work|answer|solve|fix|address|make\s+(?:any\s+)?sense|understand|get\s+it|read)"
    r"(?:\s+(?:me|it|that|this|anything|much|either|at\s+all|my\s+question|the\s+question|what\s+i\s+asked"
    r"|what\s+i'?m\s+(?:asking|saying)|what\s+i\s+(?:am\s+asking|am\s+saying|mean|meant)"
    r"|my\s+problem|the\s+problem|my\s+issue|the\s+issue))*"
    rf"|{_NH_SUBJ}{_NH_BE_NOT}{_NH_ADV}\s+(?:helpful|useful|relevant|right|correct|accurate|it|helping"
    rf"|working|listening|the\s+(?:right\s+)?answer|{_NH_WHAT_I_ASKED})(?:\s+at\s+all)?"
    # "you're not understanding me", "you're not getting it"
    rf"|(?:you|u){_NH_BE_NOT}{_NH_ADV}\s+(?:understanding|getting|reading)"
    r"(?:\s+(?:me|it|this|that|my\s+question"
    r"|the\s+question|what\s+i'?m\s+(?:asking|saying)|what\s+i\s+am\s+(?:asking|saying)))?(?:\s+at\s+all)?"
    r"|(?:you(?:'ve|\s+have)?|u)\s+(?:got|gotten|understood|read)\s+(?:it|that|me|my\s+question)\s+wrong"
    rf"|(?:{_NH_SUBJ}{_NH_BE}{_NH_ADV}\s+|what\s+)?(?:(?:a|an)\s+)?(?:useless|unhelpful|irrelevant|wrong"
    r"|incorrect|inaccurate|nonsense|rubbish|garbage|pointless|off[\s-]topic|not\s+(?:helpful|useful"
    r"|relevant|right|correct|it)|no\s+(?:help|use|good))(?:\s+(?:answer|reply|response))?(?:\s+at\s+all)?"
    rf"|not\s+{_NH_WHAT_I_ASKED}|not\s+the\s+answer\s+i\s+(?:wanted|needed|was\s+looking\s+for)"
    r"|you(?:'ve|\s+have)?\s+misunderstood(?:\s+(?:me|my\s+question))?|no\s+luck|thanks\s+for\s+nothing"
    r"|still\s+(?:not\s+(?:working|solved|fixed|resolved)|broken|stuck|the\s+same|does\s*n'?t\s+work"
    r"|does\s+not\s+work|having\s+the\s+(?:same\s+)?(?:issue|problem))|not\s+(?:solved|fixed|resolved)"
    r")"
)
_FILLER_EN = _en(
    r"(?:ok+(?:ay+)?|okie|kk?|alright|all\s+right|yes|yeah|yep|yup|sure|oh+|ah+|aha|hm+|um+|uh+|erm"
    r"|lol|ha(?:ha)+|he(?:he)+|xd|wow|oops|please|pls|plz|no|nope|nah)"
)
# ":D" and ":P" leave a lone letter once the colon is read as punctuation. "I have a question", "can
# you help me?": announces a question without asking it, so "hi, I have a question" is a greeting;
# only as a clause of its own ("I have a question about leave" is the question). "I tried that": the
# lead-in of a complaint ("I tried that, no luck"), nothing by itself
_FILLER_EN_ALONE = _en(
    r"(?:d|p|(?:i\s+|i'?ve\s+)?(?:have|got|had)\s+(?:a|one|another|some|a\s+few|two|a\s+couple\s+of)\s+"
    r"(?:(?:quick|small|little|simple|short)\s+)?(?:question|query|queries|questions|thing\s+to\s+ask)"
    r"(?:\s+for\s+(?:you|u))?"
    r"|(?:(?:a\s+)?(?:quick|small|short)\s+)?question(?:\s+for\s+(?:you|u))?"
    r"|(?:can|could|may)\s+i\s+ask\s+(?:you\s+)?(?:a\s+(?:quick\s+)?question|something|a\s+thing|you)"
    r"|(?:can|could|would)\s+(?:you|u)\s+help(?:\s+me)?(?:\s+(?:out|with\s+something))?"
    r"|i\s+(?:need|want|could\s+use)\s+(?:some\s+|a\s+little\s+)?(?:help|assistance)"
    r"|i\s+(?:already\s+)?tried\s+(?:that|it|this|those)(?:\s+already)?)"
)

_GREETING_ZH = _zh(
    r"(?:你们好|您们好|你好|您好|大家好|哈喽|哈啰|哈罗|哈咯|嗨喽|嗨|嘿|早安|早上好|上午好|中午好|下午好|晚上好"
    r"|午安|早啊|早呀|在吗|在么|在嘛|在不在|最近好吗|好久不见)"
    # 你好像 "you seem", 早安排 "arrange early": not greetings
    r"(?!像|排)(?:吗|么)?" + _ZH_PARTICLES + rf"{_ADDRESSEE}?" + _ZH_PARTICLES
)
# 早 alone; 有人在吗 "anyone here?" is the Chinese "anyone there?" (有人吗 alone asks for a person,
# see _HUMAN_ZH, but after a greeting it is part of the greeting)
_GREETING_ZH_ALONE = _zh(
    r"(?:早+|(?:请问)?(?:有人(?:在)?(?:吗|么|嘛)|有没有人在?|有人在不在))" + _ZH_PARTICLES
)
_THANKS_ZH = _zh(
    r"(?:非常|十分|万分|太|真的|真是|超级|特别|很|多多)?"
    r"(?:谢谢|谢了|谢啦|多谢|感谢|感恩|感激|唔该|辛苦(?:你|您|你们)?(?:了|啦)|麻烦(?:你|您|你们)?了|劳驾了)"
    # 感恩节 Thanksgiving, 感谢信 a thank-you letter: things, not thanks
    r"(?!信|卡|函|礼|名单|邮件|状|词|语|页|周|日|节|会|宴|活动|费)"
    r"(?:谢|晒|不尽)*(?:你们|您们|你|您|大家)?(?:的)?"
    r"(?:帮助|帮忙|协助|回答|回复|答复|解答|耐心|支持|解释|说明|提醒|分享|指导|配合|信息)?" + _ZH_PARTICLES
)
_ACK_ZH = _zh(
    r"(?:明白了?|懂了|知道了|了解了?|收到了?|清楚了|太好了|好极了|很有帮助|有帮助|帮大忙了|帮了大忙|解决了|搞定了"
    r"|可以了|好用|有用|完美|好棒|太棒了|厉害|原来如此|原来是这样"
    # 问题解决了, 现在可以了, 弄好了 (not 问题解决了吗)
    r"|(?:问题|这个|那个|现在|已经)+(?:都|也)?(?:已经)?(?:解决|搞定|弄好|修好|好|可以|能用|正常)了(?!吗|么|没)"
    r"|(?:弄|搞|修|设置)好了(?!吗|么|没)|成功了(?!吗|么|没)|(?:可以|能)用了(?!吗|么|没))" + _ZH_PARTICLES
)
_GOODBYE_ZH = _zh(
    r"(?:再见|拜拜|掰掰|白白|回头见|下次见|明天见|改天见|回见|晚安|告辞|下线了|先撤了|先走了|我走了)(?!面|排)"
    + _ZH_PARTICLES
)
# closings that are also ordinary words (先这样做吗? 没有了吗?): only as a clause of their own
_GOODBYE_ZH_ALONE = _zh(
    r"(?:(?:那|那么|今天|那今天|好|好的)?(?:就先|先|就)这样子?|没事了|没有了|没了|没问题了|没别的了|没(?:有)?其他(?:的)?(?:问题)?了"
    r"|没有别的(?:问题)?了|不用了|就这些了?|[拜掰]+|再会|886|88"
    # 今天就到这儿吧, 先到这里, 到此为止
    r"|(?:那|那么)?(?:今天|今天先|今天就)?(?:就先|先|就)?到(?:这里|这儿|这|此)(?:为止)?"
    # 下次再聊, 回头再说, 改天聊
    r"|(?:下次|回头|改天|有空|以后|晚点|晚些|之后|明天|那)(?:再)?(?:聊|谈|说|问|联系)"
    # 我先闪了, 先溜了, 我去忙了
    r"|(?:我)?先(?:闪|溜|撤|走|下|下线|去忙|忙)(?:了|啦|咯)|我(?:闪|溜|撤|下线|去忙)(?:了|啦|咯))"
    + _ZH_PARTICLES
)
_NOT_HELPFUL_ZH = _zh(
    r"(?:但是|可是|不过|然而|可|但)?"
    r"(?:你这个?|你的|这个|那个|这样|这么|那样|这些|这|那|你|它)?(?:回答|答案|回复|答复|解答|办法|方法|建议|链接)?"
    r"(?:说|讲|答|回答|回|做|弄|搞)?(?:的)?"
    r"(?:根本|完全|真的|真|还是|依然|仍然|都|也|并|一点都|一点也|好像|似乎|确实|实在)*"
    r"(?:(?:没|没有|毫无|没什么|没啥|并没有)(?:用|用处|帮助|帮到(?:我)?|帮上(?:忙)?|效果|意义)"
    r"|(?:还)?(?:没|没有)(?:能)?(?:解决|回答|解答)(?:我的?)?(?:问题|疑问)?"
    r"|(?:不是|并不是)(?:我)?(?:要|想要|想问|问|需要|要问|要找|想找|想知道|问的)的?(?:答案|东西|内容|意思|问题)?"
    r"|不是(?:这个|这样|那个)(?:意思|问题)?"
    r"|答非所问|所答非所问|文不对题|牛头不对马嘴|驴唇不对马嘴"
    r"|不对|错了|不正确|不准确|不相关|无关|不管用|不好使|不靠谱|不行|用处不大|帮助不大|看不懂|没看懂"
    r"|(?:理解|搞|弄|答|回答|听)错了|(?:没|没有|不)(?:理解|明白|懂|听懂|看懂|搞懂|弄懂|搞明白|弄明白|搞清楚|弄清楚|听明白)"
    r"(?:我的?(?:意思|问题)|我(?:在|想|要)?(?:问|说|讲)(?:的)?(?:是)?(?:什么|啥)?(?:问题|意思)?)?"
    r"|问题(?:还是|依然|仍然)?(?:没|没有)解决)"
    r"(?:啊|呀|吧|呢|哦|嘛|啦|了|的|诶|唉|哎)*"
)
_FILLER_ZH_ALONE = _zh(
    r"(?:嗯+|恩+|哦+|噢+|喔+|哈+|呵呵|嘿嘿|嘻嘻|好的?|好吧|行|啊|呀|哎|唉|诶)(?:的|吧|啦|了|哈)*"
    # a particle left on its own ("bye 啰")
    r"|(?:呀|啊|哦|喔|噢|啦|了|哈|咯|嘞|吧|啰|喽|哟|呦|嘛)+"
    # 我有个问题, 想请教一下, 打扰一下: a question announced, not asked (only as a clause of its own)
    r"|(?:我|我们)?(?:这边|这里)?(?:有|还有)(?:一?个|几个|一些|些|点|一点|件)?(?:小)?(?:问题|事|事情|疑问)"
    r"(?:想|要)?(?:问|请教|咨询|请问|麻烦你)?(?:一下|下)?"
    + _ZH_PARTICLES
    + r"|(?:我|我们)?(?:想|要)?(?:问|请教|咨询|请问)(?:你|您)?(?:一?个|几个|点)?(?:问题|事)?(?:一下|下)?"
    + _ZH_PARTICLES
    + r"|打扰(?:一下|下)?(?:了)?|(?:能|可以|能不能)(?:帮|帮帮)(?:我|一下)(?:吗|么|嘛)?"
    + _ZH_PARTICLES
    # 这个我试过了: the lead-in of a complaint (这个我试过了，不行), nothing by itself
    + r"|(?:这个|那个|这|那|你说的)?(?:我)?(?:已经|早就)?(?:都)?(?:试过|做过|弄过)(?:了)?(?:这个|了)?"
    + _ZH_PARTICLES
)

# 👎 / 👍 as the whole reply (or next to other units): the answer did not help / landed
_THUMBS_DOWN = "\ue001"
_THUMBS_UP = "\ue002"
_SIGN_NOT_HELPFUL = _zh(_THUMBS_DOWN + "+")
_SIGN_ACK = _zh(_THUMBS_UP + "+")

_UNITS: tuple[_Unit, ...] = (
    _Unit("greeting", _GREETING_EN, "starter"),
    _Unit("thanks", _THANKS_EN, "starter", loose_closing=True),
    _Unit("ack", _ACK_EN, "starter"),
    _Unit("goodbye", _GOODBYE_EN, "starter"),
    _Unit("goodbye", _GOODBYE_EN_ALONE, "clause"),
    _Unit("not_helpful", _NOT_HELPFUL_EN, "starter"),
    _Unit("filler", _FILLER_EN, "starter"),
    _Unit("filler", _FILLER_EN_ALONE, "clause"),
    _Unit("greeting", _GREETING_ZH, "free"),
    _Unit("greeting", _GREETING_ZH_ALONE, "clause"),
    _Unit("thanks", _THANKS_ZH, "free", loose_closing=True),
    _Unit("ack", _ACK_ZH, "free"),
    _Unit("goodbye", _GOODBYE_ZH, "free", loose_closing=True),
    _Unit("goodbye", _GOODBYE_ZH_ALONE, "clause"),
    _Unit("not_helpful", _NOT_HELPFUL_ZH, "free"),
    _Unit("filler", _FILLER_ZH_ALONE, "clause"),
    _Unit("not_helpful", _SIGN_NOT_HELPFUL, "clause"),
    _Unit("ack", _SIGN_ACK, "clause"),
)

# Words that can open a sentence right after "hi" / "thanks" with no comma between. A greeting word
# followed by anything else is part of a name or a compound ("hello kitty", "thank you card").
# fmt: off
_STARTERS = frozenset({
    "how", "what", "what's", "whats", "where", "where's", "when", "why", "who", "who's", "which", "whose",
    "can", "could", "would", "will", "should", "shall", "may", "might", "must", "do", "does", "did",
    "is", "isn't", "are", "aren't", "was", "were", "am", "have", "has", "had",
    "i", "i'm", "im", "i'd", "i've", "i'll", "my", "me", "we", "we're", "our", "you", "your",
    "it", "its", "it's", "this", "that", "these", "there's", "theres",
    "and", "also", "but", "so", "then", "one", "another", "just", "any", "anything", "anyone", "if", "now",
    "quick", "question", "questions", "please", "pls", "plz", "need", "needed", "want", "wanted",
    "wondering", "wonder", "trying", "looking", "got", "not", "let", "lets", "let's", "tell", "help",
    "explain", "regarding", "about", "re", "btw", "actually", "sorry", "hope", "hoping", "still", "urgent",
})
# "... say thanks", "a thank you": the thanks is the object of the question, not a closing
_CLOSING_BLOCKERS = frozenset({
    "a", "an", "the", "to", "for", "of", "my", "your", "our", "their", "his", "her",
    "say", "says", "said", "saying", "send", "sending", "write", "writing", "big",
})
# fmt: on
_WORD = re.compile(r"[a-z0-9']+")

# ---------------------------------------------------------------------------------------------------
# Requests for a person. Searched anywhere in the message; the first match decides.
# ---------------------------------------------------------------------------------------------------

# nouns for a person or the desk; not "HR" or "manager": "how do I contact HR" is a KB question
_PERSON_EN = (
    r"(?:(?:a|an|the|some|your|one\s+of\s+your)\s+)?(?:(?:real|live|actual|proper)\s+)?"
    r"(?:human(?:\s+(?:being|agent|person|support))?(?!\s+resources?)|person|people|agent|someone|somebody"
    r"|anyone|anybody|operator|representative|rep|staff|support(?:\s+(?:staff|team|agent|person|people))?"
    r"|service\s*desk|help\s*desk|it\s+support|customer\s+(?:service|support)|team\s+member)"
    # "the helpdesk phone number", "agent software": a thing of the desk, asked about in the KB
    r"(?!\s*(?:wi-?fi|printer|portal|phone|number|e-?mail|hours|ticket|software|app|tool|system|page|site"
    r"|website|queue|licen[cs]e|account|login|vpn|address|location|policy|resources?))"
)
_HUMAN_EN = re.compile(
    r"(?<![a-z0-9])(?:"
    rf"(?:talk|speak|chat|talking|speaking|chatting)\s+(?:to|with)\s+{_PERSON_EN}"
    rf"|(?:connect|transfer|put|route|pass|hand|forward|switch|send)\s+(?:me|this|it|my\s+(?:chat|question"
    rf"|issue|ticket|case|request))?\s*(?:through\s+|over\s+|back\s+)?(?:to|with)\s+{_PERSON_EN}"
    r"|(?:contact|reach|get\s+hold\s+of|get\s+in\s+touch\s+with)\s+(?:a\s+)?(?:real\s+|live\s+|actual\s+)?"
    r"(?:human|person|agent|human\s+agent)\b"
    r"|escalate(?:\s+(?:this|it|me|that|my\s+(?:issue|case|ticket|request|problem|question)))?"
    rf"(?:\s+to\s+{_PERSON_EN})?(?=\s*(?:please|pls|now|asap)?\s*(?:[,.!?;]|$))"
    r"|(?:want|need|get\s+me|give\s+me|bring\s+me|find\s+me|request)\s+(?:a|an|some)?\s*(?:"
    r"(?:real|live|actual|human)\s+(?:person|human|agent|being|support|people)"
    r"|(?:human|agent|operator|representative)(?=(?:\s*(?:please|pls|now|asap|instead|here))*\s*(?:[,.!?;]|$)))"
    # "is there a human I can talk to?", not "is there a person responsible for fire safety?"
    r"|(?:is|are)\s+there\s+(?:a|an|any)\s+(?:real\s+|live\s+|actual\s+)?(?:human|person|agent|people)s?"
    r"(?:\s+(?:who\s+|that\s+)?(?:i|we)\s+(?:can|could)\s+(?:talk|speak|chat)(?:\s+(?:to|with))?"
    r"|\s+(?:available|online|around|here|there)|(?=\s*(?:[,.!?;]|$)))"
    r"|(?:is|are)\s+(?:a|an|any)\s+(?:real\s+|live\s+)?(?:human|person|agent)s?\s+(?:available|online|around)"
    r"|not\s+(?:a|the|this|with\s+(?:a|the))\s+(?:bot|robot|chatbot|machine)\b"
    # "have someone call me", "can a person from your team contact me?"
    r"|(?:have|get|can|could|would|will|please\s+have)\s+(?:someone|somebody"
    r"|a\s+(?:real\s+)?(?:person|human|colleague)|an\s+agent|one\s+of\s+your\s+(?:colleagues|staff|team|agents))"
    r"(?:\s+from\s+(?:your|the)\s+(?:team|desk|support|service\s+desk|help\s*desk))?\s+(?:please\s+)?"
    r"(?:contact|call|phone|ring|reach\s+out\s+to|get\s+back\s+to|get\s+in\s+touch\s+with|follow\s+up\s+with)"
    r"\s+me\b"
    # "human please", "Agent!", "operator": the whole clause is the request
    r"|(?:^|(?<=[,.!?;:]))\s*(?:a\s+|an\s+)?(?:(?:real|live|actual)\s+)?(?:human(?:\s+agent)?|person"
    r"|agent|operator|representative|customer\s+service|live\s+chat|human\s+being)"
    r"(?:\s+(?:please|pls|plz|now|asap))*(?=\s*(?:[,.!?;:]|$))"
    r")"
)
# 人工 and 真人 only with a word that makes them a person (人工智能 is AI, 真人面试官 an interviewer)
_ZH_PERSON = r"(?:(?:人工|真人)(?:客服|服务|坐席|座席|专员)?|客服|接线员)"
# the desk and its staff are a person to be put through to, but 需要工作人员陪同吗 is a KB question
_ZH_DESK = r"(?:坐席|座席|专员|专人|服务台|工作人员)"
_ZH_NOT_A_THING = (
    r"(?!电话|号码|邮箱|热线|地址|时间|几点|在哪|位置|系统|工具|软件|智能|平台|网站|链接|工单|面试|上班)"
)
_HUMAN_ZH = re.compile(
    rf"(?:转(?:接)?(?:到|给)?(?:一?个|一位)?(?:{_ZH_PERSON}|{_ZH_DESK}){_ZH_NOT_A_THING}"
    rf"|找(?:一?个|一位|下|一下)?{_ZH_DESK}{_ZH_NOT_A_THING}"
    # not 人工回复: 是人工回复吗 asks whether the bot is a person
    rf"|人工(?:客服|服务|坐席|座席|专员|支持|帮助|帮忙|处理|介入|协助|对话|聊天){_ZH_NOT_A_THING}"
    rf"|(?:找|要|叫|换|接|呼叫|对接)(?:一?个|一位|位|下|一下)?(?:你们|您们)?(?:的)?{_ZH_PERSON}{_ZH_NOT_A_THING}"
    # 找个人来处理, 叫你们的人出来, 让同事直接联系我
    r"|找(?:一?个|一位|个)(?:真)?人(?:来)?(?:处理|看看|看一下|解决|跟进|对接|帮(?:我|忙)?(?=[\s,.!?;:。，！？；、]|$))"
    r"|(?:叫|让)(?:你们|您们)(?:的)?(?:人|负责人|工作人员|同事|客服|主管)出来"
    r"|(?:让|叫|请|安排)(?:你们|您们)?(?:的)?(?:一?个|一位|位)?(?:同事|工作人员|专人|专员|负责人|人工|真人|客服|人)"
    r"(?:直接|尽快|马上|赶紧|亲自)?(?:来)?(?:联系|联络|打电话给|回电话?给|回复)我(?!的|们的)"
    r"|(?:联系|联络)(?:一?个|一位)?(?:人工|真人|活人)(?:客服)?"
    r"|真人(?:客服|服务|对话|沟通|处理|帮|来)"
    r"|(?:和|跟|与|同)(?:一?个|一位)?(?:真人|活人|真的人|真正的人|人类|人工)(?:说话|讲话|聊天|聊|说|讲|谈|对话|沟通|交流)"
    r"|接线生|接线员|话务员|人工台"
    rf"|{_ZH_PERSON}(?:在吗|在么|在不在|呢|人呢|有人吗)|有(?:没有)?(?:人工|真人|客服)(?:吗|么)?(?=[\s,.!?;:。，！？；、]|$)"
    # 有人吗 "anyone there?" as a clause of its own; 服务台周六有人吗 asks about opening hours
    r"|(?P<anyone>(?:^|(?<=[,.!?;:。，！？；、]))\s*(?:请问)?(?:有人(?:在)?吗|有没有人(?:在|(?=[\s,.!?;:。，！？；、]|$))))"
    r"|(?:不要|不想|别)(?:跟|和|让)?机器人(?:聊|回答|说|对话|回复)?(?:了|啦|吧)*"
    # the whole clause is 人工 / 真人 / 客服
    rf"|(?:^|(?<=[,.!?;:。，！？；、]))\s*(?:我要|要|请|给我)?(?:人工|真人|活人|{_ZH_PERSON})(?:吧|啊|呀)?"
    r"(?=[\s,.!?;:。，！？；、]|$))"
    # 可以转人工吗, 要真人回复: the question particle and the verb of the request are part of it
    r"(?:一下|下)?(?:回复|回答|处理|帮忙|来)?(?:可以吗|行吗|好吗|好不好|吗|么|嘛|吧|呀|啊)?"
)
# what comes before the request and only says "I want" (removed from the rest)
_HUMAN_LEAD = re.compile(
    r"(?:(?<![a-z0-9])(?:(?:can|could|may|would|will)\s+(?:i|we|you)(?:\s+please)?(?:\s+just)?"
    r"|how\s+(?:do|can|could)\s+i|i(?:'d|\s+would)?\s+(?:really\s+)?(?:like|want|wanna|need|have|prefer)(?:\s+to)?"
    r"|let\s+me|please|pls|plz|just|i|is\s+it\s+possible\s+to|i'?m\s+trying\s+to|i\s+am\s+trying\s+to"
    r"|is\s+there\s+a\s+way\s+to|want\s+to|need\s+to|to)"
    r"|我们|我想|我要|想要|我需要|需要|希望|请帮我|请|麻烦你|麻烦|帮我|给我|能不能|能否|可不可以|可以|是否可以|怎么|如何"
    r"|怎样|直接|我|想|要)\s*$"
)
# what comes after it and only links the topic ("... about my payslip", 关于工资条)
_HUMAN_LINK = re.compile(
    r"\s*(?:(?:about|regarding|re|concerning|on|with|for)(?![a-z0-9])|关于|有关|咨询)\s*"
)
# what comes after it and only insists ("..., not a bot", "instead", "now")
_HUMAN_INSIST = re.compile(
    r"[\s,.!;]*(?:(?:and\s+|but\s+)?not\s+(?:a|the|this|with\s+(?:a|the))\s+(?:bot|robot|chatbot|machine)"
    r"|instead|please|pls|plz|now|right\s+now|asap)(?![a-z0-9])"
)
_REST_TRIM_START = ",，、;；:：.。!！?？-–—~～ \t\r\n"
_REST_TRIM_END = ",，、;；:：-–—~～ \t\r\n"


# ---------------------------------------------------------------------------------------------------
# Normalisation with a map back to the message
# ---------------------------------------------------------------------------------------------------

_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"}
# emoji that say something (every other emoji is a space): a private-use character each, which is
# neither a separator nor a word character, for the units to match
_SIGNS = {"\U0001f44e": _THUMBS_DOWN, "\U0001f44d": _THUMBS_UP}


def _normalise(message: str) -> tuple[str, list[int]]:
    """The message as the patterns read it, and for each of its characters the index of the message
    character it came from (NFKC can turn one character into several: "…" into "...")."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(message):
        for c in unicodedata.normalize("NFKC", _APOSTROPHES.get(ch, ch)).lower():
            # emoji, symbols, joiners, variation selectors: a space, so "hi👋" is "hi" and a separator
            if c in _SIGNS:
                c = _SIGNS[c]
            elif unicodedata.category(c) in ("So", "Sk", "Cf", "Cs", "Co", "Cn", "Mn", "Me", "Cc"):
                c = " "
            chars.append(c)
            origin.append(i)
    text = "".join(chars)
    simplified = to_simplified(text)
    if len(simplified) != len(text):
        # OpenCC converted a phrase to one of another length: convert character by character instead,
        # so every position still maps back to the message
        simplified = "".join(s if len(s := to_simplified(c)) == 1 else c for c in text)
    return simplified, origin


def _is_sep(c: str) -> bool:
    return c.isspace() or unicodedata.category(c)[0] in "PS"


# ---------------------------------------------------------------------------------------------------
# Peeling
# ---------------------------------------------------------------------------------------------------


class _Reader:
    """Reads units off a span of the normalised text; remembers what it found at each position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._memo: dict[tuple[int, int], tuple[Kind, int] | None] = {}

    def unit_at(self, pos: int, stop: int) -> tuple[Kind, int] | None:
        """The longest unit starting at `pos` (and ending by `stop`) that what follows it allows."""
        key = (pos, stop)
        if key not in self._memo:
            self._memo[key] = None  # a unit cannot justify itself through itself
            matches = sorted(
                (
                    (m.end(), unit)
                    for unit in _UNITS
                    if (m := unit.pattern.match(self.text, pos, stop)) and m.end() > pos
                ),
                key=lambda found: -found[0],
            )
            self._memo[key] = next(
                ((unit.kind, end) for end, unit in matches if self._may_follow(end, stop, unit.follow)), None
            )
        return self._memo[key]

    def _may_follow(self, end: int, stop: int, follow: Follow) -> bool:
        j = end
        while j < stop and self.text[j].isspace():
            j += 1
        if j >= stop or _is_sep(self.text[j]) or follow == "free":
            return True
        if self.unit_at(j, stop) is not None:
            return True
        if follow == "clause":
            return False
        if HAN.match(self.text[j]):
            return True
        word = _WORD.match(self.text, j, stop)
        return word is not None and word.group() in _STARTERS

    def skip_seps(self, pos: int, stop: int) -> int:
        while pos < stop and _is_sep(self.text[pos]):
            pos += 1
        return pos

    def skip_seps_back(self, start: int, end: int) -> int:
        while end > start and _is_sep(self.text[end - 1]):
            end -= 1
        return end

    def units_cover(self, pos: int, stop: int) -> list[Kind] | None:
        """The kinds of the units that make up all of text[pos:stop], or None if something else is there."""
        kinds: list[Kind] = []
        pos = self.skip_seps(pos, stop)
        while pos < stop:
            found = self.unit_at(pos, stop)
            if found is None:
                return None
            kinds.append(found[0])
            pos = self.skip_seps(found[1], stop)
        return kinds

    def peel(self, start: int, end: int) -> tuple[list[Kind], int, int]:
        """Social units off the front and the back of text[start:end]: their kinds and the span left."""
        kinds: list[Kind] = []
        pos = self.skip_seps(start, end)
        while pos < end and (found := self.unit_at(pos, end)) is not None:
            kinds.append(found[0])
            pos = self.skip_seps(found[1], end)
        content_end = self.skip_seps_back(pos, end)
        if pos < content_end:
            closing = self._closing(pos, content_end)
            if closing is not None:
                kinds.extend(closing[0])
                end = closing[1]  # the "?" before "thanks" stays with the question
        return kinds, pos, max(pos, end)

    def _closing(self, start: int, end: int) -> tuple[list[Kind], int] | None:
        """The longest run of units that closes text[start:end] after its content ("..., thanks!")."""
        text = self.text
        for s in range(max(start + 1, end - _MAX_TAIL_CHARS), end):
            # a closing starts a word (or any Chinese character) after some content
            if _is_sep(text[s]) or not (_is_sep(text[s - 1]) or HAN.match(text[s]) or HAN.match(text[s - 1])):
                continue
            kinds = self.units_cover(s, end)
            if not kinds or "greeting" in kinds:
                continue  # a greeting does not close a message
            if self._closing_boundary(s, start, kinds[0]):
                return kinds, s
        return None

    def _closing_boundary(self, s: int, start: int, first: Kind) -> bool:
        """Does the content end before `s`? After punctuation always; with only a space or nothing,
        only before a thanks or a plain farewell that is not the object of the sentence ("say thanks")."""
        j = s
        while j > start and self.text[j - 1].isspace():
            j -= 1
        if j < s and j > start and _is_sep(self.text[j - 1]):
            return True
        if j == s and _is_sep(self.text[j - 1]):
            return True
        if first not in ("thanks", "goodbye"):
            return False
        if not any(u.loose_closing and u.pattern.match(self.text, s) for u in _UNITS):
            return False
        previous = _WORD.findall(self.text[max(start, s - 20) : j])
        return (
            not (previous and previous[-1] in _CLOSING_BLOCKERS) and self.text[j - 1] not in "说讲道声句个的"
        )


# ---------------------------------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------------------------------


def _cut(message: str, origin: list[int], start: int, end: int) -> str:
    """The message characters behind text[start:end], trimmed of the commas and spaces around them."""
    if end <= start:
        return ""
    piece = message[origin[start] : origin[end - 1] + 1].lstrip(_REST_TRIM_START).rstrip(_REST_TRIM_END)
    # only punctuation or emoji left: nothing to answer
    return piece if any(c.isalnum() for c in piece) else ""


def _human_rest(reader: _Reader, message: str, origin: list[int], m: re.Match[str]) -> str:
    """What a request for a person says besides the request: its topic, without "I want to", "about"."""
    text = reader.text
    parts: list[str] = []
    _, s, e = reader.peel(0, m.start())
    while (lead := _HUMAN_LEAD.search(text, s, e)) is not None and lead.start() < e:
        e = reader.skip_seps_back(s, lead.start())
    parts.append(_cut(message, origin, s, e))
    s = m.end()
    while (insist := _HUMAN_INSIST.match(text, s)) is not None:
        s = insist.end()
    _, s, e = reader.peel(s, len(text))
    if (link := _HUMAN_LINK.match(text, s, e)) is not None:
        s = reader.skip_seps(link.end(), e)
    parts.append(_cut(message, origin, s, e))
    rest = " ".join(p for p in parts if p)
    if (link := _HUMAN_LINK.match(rest.lower())) is not None:  # 关于工资条我想找真人 -> 工资条
        rest = rest[link.end() :].lstrip(_REST_TRIM_START)
    return rest


def _greeted(reader: _Reader, end: int) -> bool:
    """Is text[:end] nothing but social units, a greeting among them?"""
    kinds = reader.units_cover(0, reader.skip_seps_back(0, end))
    return kinds is not None and "greeting" in kinds


def detect_intent(message: str) -> IntentMatch | None:
    """The social intent of a chat message, or None when it is a question to answer.

    `rest` is the part of the message that still needs an answer ("" when none). A greeting, thanks
    or goodbye around a question returns that intent with the question in `rest`; a complaint around a
    question returns None (the question is what to answer); a request for a person always wins."""
    if not message or len(message) > _MAX_CHARS:
        return None
    text, origin = _normalise(message)
    if not text.strip():
        return None
    reader = _Reader(text)

    request = _HUMAN_EN.search(text) or _HUMAN_ZH.search(text)
    if request is not None and request.groupdict().get("anyone") and _greeted(reader, request.start()):
        # 你好，有人在吗: "anyone here?" after a greeting is part of the greeting, not a request
        request = _HUMAN_ZH.search(text, request.end())
    if request is not None:
        return IntentMatch("human", _human_rest(reader, message, origin, request))

    kinds, start, end = reader.peel(0, len(text))
    rest = _cut(message, origin, start, end)
    if "not_helpful" in kinds:
        # "that didn't help" alone is feedback; with a question it is the question
        return None if rest else IntentMatch("not_helpful", "")
    # the last thing said decides: a closing over thanks over hello
    for intent in ("goodbye", "thanks", "greeting"):
        if intent in kinds:
            return IntentMatch(intent, rest)
    if "ack" in kinds and not rest:
        return IntentMatch("thanks", "")  # "got it", 明白了: the answer landed
    return None
