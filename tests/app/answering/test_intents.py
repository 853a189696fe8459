"""Social messages, requests for a person and complaints, told apart from questions (app/answering/intents.py)."""

from __future__ import annotations

import pytest

from app.answering.intents import IntentMatch, detect_intent

# fmt: off
GREETINGS = [
    "hi", "Hi!", "hello there askdesk 👋", "hey", "hey there", "good morning", "Good afternoon, team",
    "hi, how are you?", "hello? anyone there?", "yo",
    "你好", "您好呀", "大家好", "嗨～", "早安", "早上好！", "早", "在吗",
    "哈囉", "您好喔", "早安～", "哈囉大家好",
]
THANKS = [
    "thanks!", "thx a lot", "thank you", "Thank you so much for your help!", "thanks for explaining the leave rules",
    "ty", "tysm 🙏", "cheers mate", "much appreciated", "thank-you!", "got it, thanks", "perfect, thank you!",
    "谢谢", "谢谢你的帮助", "太感谢了！", "辛苦了", "好的，谢谢", "OK 谢谢", "明白了，谢谢！",
    "多謝", "感恩", "謝謝你喔", "感謝您的協助", "多謝晒", "唔該",
]
GOODBYES = [
    "bye", "Goodbye!", "bye bye", "see you tomorrow!", "take care", "have a good weekend", "that's all, thanks!",
    "no thanks", "I'm good, thanks", "later",
    "再见", "拜拜", "掰掰", "好的谢谢再见", "没事了，谢谢", "不用了，谢谢", "没有了", "晚安", "先这样吧",
    "再見囉", "掰啦", "先這樣，謝謝", "好的，謝謝，沒有其他問題了",
]
HUMAN = [
    "talk to a human", "speak to an agent", "I need a real person", "let me talk to someone",
    "can I chat with support staff", "escalate this", "please escalate", "connect me to the service desk",
    "transfer me to a human", "put me through to an agent", "human please", "Agent!", "operator",
    "is there a human I can talk to?", "I want to talk to someone, not a bot", "hi, can I talk to a human?",
    "that didn't help, I want a human",
    "我想转人工", "转人工", "人工客服", "找真人", "客服在吗", "可以转人工吗", "人工", "有人吗", "我要找人工",
    "有客服吗", "不想跟机器人聊了", "你好，我要转人工",
    "人工服務", "轉真人客服", "接線生", "真人客服在嗎", "聯絡真人", "麻煩幫我轉人工客服，謝謝",
]
NOT_HELPFUL = [
    "that didn't help", "not what I asked", "this doesn't answer my question", "that's not what I asked for",
    "you didn't answer my question", "wrong answer", "no, that's wrong", "not helpful at all", "useless",
    "it didn't work", "still not working", "thanks, but that didn't help", "that didn't help, thanks anyway",
    "thanks for nothing", "hi there, that didn't help",
    "没用", "答非所问", "没解决", "这个回答没用", "完全没有帮助", "没有解决我的问题", "不对", "还是不行", "不是这个意思",
    "你好像没回答我的问题",
    "沒幫助", "這不是我要的", "這個答案沒用啊",
]
# questions that mention people, politeness or a social word: answered, not intercepted
QUESTIONS = [
    "how do I contact HR about my payslip?", "who is my HR business partner", "human resources policy on overtime",
    "thank-you card budget for clients", "hi-res monitor request", "agent software install for VPN",
    "what's the helpdesk phone number", "Hello Kitty mugs in the pantry?", "byebug install",
    "thanks to whom do I send receipts", "how do I reset my password?", "what are the service desk hours",
    "how do I contact the service desk?", "contact support", "Who do I talk to about a payroll error?",
    "can I talk to my manager about remote work?", "Is there a person responsible for fire safety?",
    "are there any people in the office on Sunday?", "team dinner budget per person?",
    "I need an agent installed on my laptop", "how do I escalate a P1 incident?",
    "when should I escalate to a manager?", "how do I connect to the VPN", "connect to the help desk wifi",
    "Can I expense a thank you gift for a client?", "How do I book a meeting room for a goodbye party?",
    "Goodbye email template for leavers", "hi vis vest for warehouse", "good day rate for contractors",
    "morning standup schedule?", "night shift allowance?", "thanksgiving holiday?", "see you at the offsite?",
    "how are you handling overtime?", "Can I talk to you about annual leave?", "Are you a real person?",
    "My VPN doesn't work", "wrong password error", "useless old laptops recycling", "no help desk tickets showing",
    "this is useless, how do I reset my password?", "I asked about annual leave, that didn't help",
    "ok, what about unpaid leave then?", "great, and what about directors?",
    "人力资源部电话是多少", "人工智能工具可以用吗", "可以和真人面试官改时间吗", "客服电话是多少", "人工服务时间是几点",
    "需要工作人员陪同吗", "有没有人知道年假怎么算", "是人工回复吗", "怎么联系服务台", "感恩节放假吗", "感谢信模板在哪里",
    "怎么给客户写谢谢卡", "早上9点上班吗", "就这样设置对吗", "没用完的年假可以结转吗", "不对外开放吗", "不对，我问的是海外",
    "年假有多少天？",
    "IT 服務台週六有人嗎？", "請問年假有幾天？", "人工智慧工具可以用嗎",
]
# fmt: on


@pytest.mark.parametrize("message", GREETINGS)
def test_greetings(message):
    assert detect_intent(message) == IntentMatch("greeting", "")


@pytest.mark.parametrize("message", THANKS)
def test_thanks(message):
    assert detect_intent(message) == IntentMatch("thanks", "")


@pytest.mark.parametrize("message", GOODBYES)
def test_goodbyes(message):
    assert detect_intent(message) == IntentMatch("goodbye", "")


@pytest.mark.parametrize("message", HUMAN)
def test_requests_for_a_person(message):
    assert detect_intent(message) == IntentMatch("human", "")


@pytest.mark.parametrize("message", NOT_HELPFUL)
def test_complaints_without_a_question(message):
    assert detect_intent(message) == IntentMatch("not_helpful", "")


@pytest.mark.parametrize("message", QUESTIONS)
def test_questions_are_not_intercepted(message):
    assert detect_intent(message) is None


@pytest.mark.parametrize(
    ("message", "intent", "rest"),
    [
        ("hi, how do I reset my password?", "greeting", "how do I reset my password?"),
        ("hi how do I reset my password?", "greeting", "how do I reset my password?"),
        ("Hey, is the office open on Christmas?", "greeting", "is the office open on Christmas?"),
        ("good morning, I have a question about leave", "greeting", "I have a question about leave"),
        ("你好，请问年假有几天", "greeting", "请问年假有几天"),
        ("你好请问年假有几天", "greeting", "请问年假有几天"),
        ("哈囉，請問年假有幾天？", "greeting", "請問年假有幾天？"),
        ("hi 请问VPN怎么连", "greeting", "请问VPN怎么连"),
        # the opening that makes a follow-up ("and", 那) stays with it
        ("thanks, and what about directors?", "thanks", "and what about directors?"),
        ("谢谢！那海外呢？", "thanks", "那海外呢？"),
        ("thanks for the help, how do I reset my VPN?", "thanks", "how do I reset my VPN?"),
        ("thanks for the help how do I reset my VPN?", "thanks", "how do I reset my VPN?"),
        ("Thank you for your answer. But what about part-timers?", "thanks", "But what about part-timers?"),
        # a thanks that closes a question
        ("how do I reset my password? thanks", "thanks", "how do I reset my password?"),
        ("how do I reset my password thanks", "thanks", "how do I reset my password"),
        ("请问报销流程是什么？谢谢！", "thanks", "请问报销流程是什么？"),
        ("年假有幾天謝謝", "thanks", "年假有幾天"),
        # the topic of a request for a person, without "I want to" / "about"
        ("I want to talk to a human about my payslip", "human", "my payslip"),
        ("can I speak to someone about my payslip?", "human", "my payslip?"),
        ("I'd like to speak with a live agent regarding my laptop", "human", "my laptop"),
        ("转人工，问下工资条", "human", "问下工资条"),
        ("关于工资条的问题我想找真人", "human", "工资条的问题"),
        ("我想轉人工處理我的報銷問題", "human", "我的報銷問題"),
    ],
)
def test_the_rest_is_the_question_as_typed(message, intent, rest):
    assert detect_intent(message) == IntentMatch(intent, rest)


@pytest.mark.parametrize(
    "message",
    [
        "thanks, bye",
        "ok thanks bye",
        "thanks, team! bye",
        "Hi there! Thanks for the quick reply. Bye!",
        "谢谢，再见",
        "先這樣，謝謝",
        "好的，谢谢，没有其他问题了",
        "thx, that's all",
    ],
)
def test_goodbye_wins_over_thanks_and_greeting(message):
    assert detect_intent(message).intent == "goodbye"


@pytest.mark.parametrize(
    "message",
    [
        "thanksss",
        "hiii",
        "HIIIII!!!",
        "ｈｅｌｌｏ",
        "Ｔｈａｎｋｓ！",
        "thank youuu",
        "THANK U!!",
        "👍 thanks",
        "  hi  ",
        "謝謝",
        "谢谢",
        "ＯＫ，謝謝",
    ],
)
def test_case_width_repeats_emoji_and_script_do_not_matter(message):
    assert detect_intent(message) is not None


def test_curly_apostrophes_read_as_straight_ones():
    assert detect_intent("that didn\u2019t help") == IntentMatch("not_helpful", "")
    assert detect_intent("that\u2019s all") == IntentMatch("goodbye", "")


def test_a_request_for_a_person_wins_over_everything_else():
    assert detect_intent("Thanks! Can I talk to a human?") == IntentMatch("human", "")
    assert detect_intent("没用，转人工") == IntentMatch("human", "")


def test_acknowledgements_are_thanks_alone_but_not_in_front_of_a_question():
    assert detect_intent("got it") == IntentMatch("thanks", "")
    assert detect_intent("明白了") == IntentMatch("thanks", "")
    assert detect_intent("great, how do I apply?") is None


@pytest.mark.parametrize("message", ["", "   ", "ok", "好的", "hmm", "lol", "👋", "...", "?", "help"])
def test_fillers_and_empty_messages_are_nothing(message):
    assert detect_intent(message) is None


def test_long_messages_are_never_social():
    assert detect_intent("thanks " * 100) is None


def test_the_rest_keeps_the_original_characters():
    # emoji and full-width forms inside the question are the user's, not the normalised ones
    assert detect_intent("hi! ＶＰＮ 👀 broken?") == IntentMatch("greeting", "ＶＰＮ 👀 broken?")
