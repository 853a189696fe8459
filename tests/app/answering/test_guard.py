from app.answering import prompts
from app.answering.guard import STALL_CHARS, StreamGuard, loop_end, rule_lines, trim_loops, unusable, vet

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


def test_empty_list_items_and_made_up_wrappers_are_dropped():
    # how SmolLM2-135M answered "How do I reset my VPN password?" on the demo: the items ran on,
    # empty, to the token budget
    raw = "<text>To reset it:\n\n1. Open id.nwh.example [1].\n2. Verify with your phone.\n3.\n4.\n5.\n6."
    assert vet(raw, 1, RULES)[0] == "To reset it:\n\n1. Open id.nwh.example [1].\n2. Verify with your phone."
    assert vet("<Answer>打开设置 [1]。</Answer>", 1, RULES)[0] == "打开设置 [1]。"
    assert trim_loops("Bring:\n- your badge\n-\n- a photo ID") == "Bring:\n- your badge\n- a photo ID"
    keep = "Press <Enter> to confirm [1]. Versions 2.1 and 3.0 work."
    assert vet(keep, 1, RULES)[0] == keep


def stream(text: str, n_sources: int = 2, step: int = 3) -> tuple[StreamGuard, list[str]]:
    """Feed `text` in `step`-character pieces (engines stream a few characters per token)."""
    g = StreamGuard(n_sources, RULES)
    shown = [g.feed(text[i : i + step]) for i in range(0, len(text), step)]
    shown.append(g.finish())
    return g, shown


def test_stream_adds_up_to_the_vetted_answer_and_waits_for_sentence_ends():
    raw = "Book rooms in Outlook [1]. Invented source [7]. Book rooms in Outlook [1]. Rooms free up after 15 minutes [2]."
    g, shown = stream(raw)
    assert g.problem is None
    assert "".join(shown) == g.shown == vet(raw, 2, RULES)[0]
    assert "[7]" not in g.shown and g.shown.count("Book rooms") == 1  # dangling citation, repeat: never shown
    first = next(i for i, s in enumerate(shown) if s)
    assert shown[first].startswith("Book rooms in Outlook [1].")  # nothing before the first sentence ended
    zh = "入职满一年有 10 天年假 [1]，不满一年按月折算 [1]。"
    g, shown = stream(zh, step=2)
    assert "".join(shown) == zh and sum(bool(s) for s in shown) >= 2  # clause by clause


def test_stream_stops_showing_at_an_echoed_tag_or_a_leaked_rule():
    g, shown = stream("Annual leave is 10 days [1]. <context> [1] Annual leave", step=1)
    assert g.problem == "echoes the prompt's tags"
    assert "".join(shown) == g.shown == "Annual leave is 10 days [1]."  # the good sentence before it stays
    assert g.feed(" more text.") == "" and g.finish() == ""  # nothing after a problem
    # the prompt recited from its first line: rule lines have sentence ends of their own, and none
    # of it may show before the line is recognised
    leak = "\n".join(SYSTEM.splitlines()[:3])
    g, shown = stream(leak, step=2)
    assert g.problem == "repeats the system rules" and "".join(shown) == ""
    g, shown = stream("你好！ 规则： 1. 只能使用 context 中编号段落里的事实回答。", step=2)
    assert g.problem == "repeats the system rules" and "只能使用" not in "".join(shown)


def test_a_looping_stream_stalls_and_keeps_what_came_before_the_loop():
    intro = "Bring the laptop to the IT desk [1]. "
    raw = intro + "I can help you with that. " * 40 + "I can he"
    g = StreamGuard(1, RULES)
    shown, fed = [], 0
    while fed < len(raw) and not g.stalled:
        shown.append(g.feed(raw[fed : fed + 4]))
        fed += 4
    assert g.stalled and g.problem is None
    # stopped STALL_CHARS after the last new text (a repeat's unfinished start still looks new),
    # not at the end of the budget
    assert fed <= len(intro) + 3 * len("I can help you with that. ") + STALL_CHARS + 4 < len(raw) / 3
    shown.append(g.finish())
    assert "".join(shown) == g.shown == "Bring the laptop to the IT desk [1]. I can help you with that."


def test_long_answers_without_loops_never_stall():
    facts = "".join(f"Step {i}: open panel {i} and press button {i}. " for i in range(30))
    run_on = "a sentence that goes on " + " ".join(f"word{i}" for i in range(120))  # no sentence end
    for text in (facts, run_on, "年假按工龄计算：" + "，".join(f"满{i}年{i + 5}天" for i in range(60)) + "。"):
        g, shown = stream(text, n_sources=1)
        assert not g.stalled and "".join(shown) == g.shown == vet(text, 1, RULES)[0]


def test_verbatim_loops_of_short_clauses_are_cut_after_one_copy():
    # SmolLM2-135M on the eval: clauses too short for the sentence check, repeated to the budget
    raw = "NWH Connect 顯示憑證過期，我人在家裡，怎麼辦？\n\n" + "我人在家裡，怎麼辦？\n\n" * 5
    assert raw[: loop_end(raw)] == "NWH Connect 顯示憑證過期，我人在家裡，怎麼辦？\n\n"
    g, shown, fed = StreamGuard(1, RULES), [], 0
    while fed < len(raw) and not g.stalled:  # as the chain does: stop feeding once stalled
        shown.append(g.feed(raw[fed : fed + 2]))
        fed += 2
    shown.append(g.finish())
    # what had been shown stays (never unsaid): the copies seen before the loop was told apart
    assert g.stalled and "".join(shown) == g.shown and g.shown.count("怎麼辦") <= 3 < raw.count("怎麼辦")
    # not loops: a table rule (short period), a phrase said twice before the answer goes on
    assert loop_end("| a | b |\n|" + "------|" * 12) is None
    twice = "Call ext. 8400 for urgent repairs. For other repairs call ext. 8400 for urgent repairs in Shenzhen."
    assert loop_end(twice) is None and loop_end(twice[:80]) is None


def test_a_list_of_one_phrase_is_unusable_and_mark_runs_collapse():
    # what the 135M stand-in wrote for 会议室使用有什么礼仪要求 (the extractive-answer issue)
    assert vet("1. 说明： 2. 说明： 3. 说明： 4. 说明：", 3, [])[1] == "repeats one phrase as a list"
    g = StreamGuard(3, [])
    shown = "".join(g.feed(c) for c in "1. 说明： 2. 说明： 3. 说明： 4. 说明：")
    assert g.problem and len(shown) <= len("1. 说明： 2. 说明： 3.")  # stopped at the third
    # a real list is kept, and a run of one clause mark becomes one
    assert vet("1. Open Settings. 2. Choose Wi-Fi. 3. Pick NWH. 4. Sign in.", 3, [])[1] is None
    assert vet("请在入职当天 9:30 到 8 楼报到；；；；；；", 3, [])[0] == "请在入职当天 9:30 到 8 楼报到；"
