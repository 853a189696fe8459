from app.answering import prompts
from app.answering.guard import rule_lines, trim_loops, unusable

SYSTEM = prompts.rag_prompt("zh").format_messages(**prompts.rag_inputs(question="q", passages=[], lang="zh", company="NWH"))[0].content
RULES = rule_lines(SYSTEM)


def test_good_answers_pass():
    assert unusable("入职满一年有 10 天带薪年假 [1]。", RULES) is None
    assert unusable("Book rooms in Outlook [1]. Rooms are released after 15 minutes [2].", RULES) is None


def test_scaffolding_rule_leaks_and_loops_are_caught():
    assert unusable("<context> [1] 邮件签名模板在哪下载 <question>", RULES) == "echoes the prompt's tags"
    leak = "你是NWH的内部客服助手！ 规则： 1. 只能使用 <context> 中编号段落里的事实回答。"
    assert unusable(leak.replace("<context>", "context"), RULES) == "repeats the system rules"


def test_loops_are_trimmed_to_their_first_occurrence():
    loop = "You can borrow a loaner for 30 days [1]. " + "I'm not a loaner. " * 4
    assert trim_loops(loop) == "You can borrow a loaner for 30 days [1]. I'm not a loaner."
    zh = "在 DeskOne 申请邮件组。\n\n在 DeskOne 申请邮件组。\n\n经理审批后 2 个工作日内开通。"
    assert trim_loops(zh) == "在 DeskOne 申请邮件组。\n\n经理审批后 2 个工作日内开通。"


def test_clause_loops_in_chinese_are_trimmed():
    loop = "知识库中没有找到这个问题的答案，" + "可以在知识库中添加新的问题，" * 6 + "可以在知"
    assert trim_loops(loop) == "知识库中没有找到这个问题的答案，可以在知识库中添加新的问题，可以在知"
    ok = "打开设置，选择网络，然后重新连接。"
    assert trim_loops(ok) == ok
