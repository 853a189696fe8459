"""Extractive answers (app/answering/extract.py): sentence splitting, choice, verbatim quoting in the
question's script, citations, lead-ins, limits. Excerpts of knowledge/ are copied in as literals."""

from __future__ import annotations

import time

import pytest

from app.answering.extract import Extract, Passage, Quote, extract_answer, normalize_ws, split_units
from app.lang import to_script, to_simplified

# --- excerpts of knowledge/docs/travel-policy.md ------------------------------------------------------

HOTEL = """Hotel limits are per room per night, including taxes and breakfast. TripDesk blocks bookings above \
the limit unless an exception is approved by your department head.

- Tier 1 cities (Beijing, Shanghai, Guangzhou, Shenzhen): RMB 800 for employees, RMB 1,100 for directors and above.
- Tier 2 cities (provincial capitals plus Suzhou, Xiamen, Qingdao, Ningbo and Dalian): RMB 550 for employees, \
RMB 750 for directors and above.
- Tier 3 (all other mainland cities): RMB 400 for employees, RMB 550 for directors and above.
- Hong Kong and Singapore: SGD 300 or the equivalent per night for all staff.
- Other international destinations: USD 220 per night for all staff.

During trade fairs TripDesk may raise the limit for a specific city; the temporary limit is shown when you \
search for hotels."""

PER_DIEM = """The per-diem covers meals, tips and small incidentals, is paid automatically with your travel \
claim, and needs no receipts.

| Destination | Daily per-diem |
|---|---|
| Tier 1 cities | RMB 200 |
| Tier 2 cities | RMB 150 |
| Tier 3 cities | RMB 120 |
| Hong Kong and Singapore | SGD 80 |
| Other international destinations | USD 60 |

The full rate is paid for every day away from home. On the departure and return days the rate is halved if \
you leave after 12:00 or return before 12:00. When a meal is provided by a customer, a conference or the \
airline on a long-haul flight, 30% of the daily rate is deducted for that meal."""

# as the ingest serves a doc chunk: "Title > Section" first, list markers and table markup gone
GROUND_CHUNK = """Travel Policy > Ground transport and mileage
Taxis and ride-hailing are reimbursed for travel between the airport or station and your hotel or the \
customer site. Within the destination city, the metro is preferred when the journey takes less than 40 minutes.
Use of a private car for business is reimbursed at RMB 1.2 per km plus tolls and parking, based on the route \
shown in a map app. Car rental is only allowed when it is cheaper than taxis for the whole trip, and the car \
must be a compact or standard class vehicle."""

INTRO = """This policy applies to all business travel by employees of Northwind Harbor Tech Co., Ltd. It sets \
the class of travel, hotel limits, per-diem rates and ground transport rules."""

# --- excerpts of knowledge/docs/onboarding-guide.md ---------------------------------------------------

PROBATION = """签订三年劳动合同的员工试用期为 6 个月。试用期第 5 个月时，直属经理会在 PeoplePort 发起转正评估，员工需先完成自评。

转正结果会在试用期结束前至少 2 周由经理当面告知。表现特别突出的员工，经部门总监批准后可以提前转正，但最早不早于入职满 3 个月。"""

SYSTEMS = """以下是日常工作中最常用的内部系统，均使用 NWH ID 单点登录：

- PeoplePort（people.nwh.example）：休假、薪酬、个人信息和绩效。
- DeskOne（desk.nwh.example）：IT 服务台工单和各类 IT 申请。
- SpendWise（spend.nwh.example）：费用报销、采购申请和供应商发票。
- TripDesk（trip.nwh.example）：出差申请和机票酒店预订。"""

FIRST_DAY = """请在入职当天 9:30 到上海总部 8 楼前台报到（深圳办公室为 5 楼前台），HR 同事会带你领取工牌并办理入职手续。\
10:00–12:00 在 8 楼培训室参加新员工入职说明会，内容包括公司介绍、组织架构和员工手册要点。

中午由你的入职伙伴陪同在 3 楼食堂用餐。下午 14:00 请到 9 楼 IT 服务台领取笔记本电脑，IT 同事会现场帮你完成电脑登录和 MFA 设置，整个过程大约需要 45 分钟。"""

# --- excerpts of knowledge/faq.csv ----------------------------------------------------------------------

PWD_RESET_Q = "How do I reset my password?"
PWD_RESET = (
    "Go to https://id.nwh.example/reset, enter your work email and verify with your registered mobile number or "
    "authenticator app; the new password works on all systems within 5 minutes. If you have no registered "
    "verification method, call the IT Service Desk on ext. 8000 with your employee ID and they will verify you by "
    "video call."
)
LEAVE_Q = "How many days of annual leave do I get?"
LEAVE = (
    "Annual leave depends on your total years of work experience: 12 days with under 5 years, 15 days with 5 to "
    "under 10 years, and 20 days with 10 years or more. Leave accrues monthly from your start date and is shown "
    "in PeoplePort under Time Off."
)
CARRY_Q = "没休完的年假可以结转到明年吗？"
CARRY = (
    "可以，每年最多结转 5 天未休年假到下一年，结转的年假须在次年 3 月 31 日前休完，逾期作废。"
    "超过 5 天的部分不结转，也不折现（法律另有规定的除外）。"
)
LOCKED_Q = "账号被锁定了怎么办？"
LOCKED = (
    "连续输错 5 次密码后账号会被锁定 15 分钟，时间到后自动解锁。如果急需使用，可以通过 id.nwh.example/reset "
    "自助重置密码立即解锁，或拨打 IT 服务台分机 8000。"
)
COLOR_Q = "彩色打印有额度限制吗？"
COLOR = (
    "有。每人每月彩色打印额度为 200 页，黑白打印不限量，额度在每月 1 日重置。如需更多彩色额度（例如市场物料），"
    "请由部门经理在 DeskOne 提交“打印额度调整”申请。"
)


def doc(n, section, text, title="Travel Policy", confidence=0.6):
    return Passage(n=n, title=title, section=section, text=text, kind="doc", confidence=confidence)


def faq(n, question, answer, confidence=0.6):
    return Passage(n=n, title=question, section="", text=answer, kind="faq", confidence=confidence)


def flat(text: str) -> str:
    return " ".join(normalize_ws(text).split())


def assert_verbatim(ex: Extract, passages, lang: str) -> None:
    """Every quote is one contiguous piece of its passage (whitespace-normalised, in the question's
    script) and is cited with its passage's number."""
    by_n = {p.n: p for p in passages}
    for q in ex.quotes:
        source = to_script(by_n[q.n].text, lang) if lang.startswith("zh") else by_n[q.n].text
        assert flat(q.text) in flat(source), (q.text, source)
        assert f"[{q.n}]" in ex.text
    assert ex.text.startswith(ex.lead_in + "\n")


TRAVEL = [doc(1, "Hotel limits by city tier", HOTEL), doc(2, "Per-diem rates", PER_DIEM),
          doc(3, "Ground transport and mileage", GROUND_CHUNK)]  # fmt: skip


# --- sentence splitting ---------------------------------------------------------------------------


def test_english_sentences_keep_decimals_urls_versions_and_abbreviations_whole():
    text = (
        "Use of a private car is reimbursed at RMB 1.2 per km, e.g. for customer visits. Hotels may cost RMB "
        "1,100.50 per night, i.e. the director limit. Call ext. 8000 or see https://id.nwh.example/reset. "
        "Version 2.3.1 of NWH Connect is required. Dr. Smith approves exceptions! Is it clear? Yes."
    )
    assert split_units(text) == [
        "Use of a private car is reimbursed at RMB 1.2 per km, e.g. for customer visits.",
        "Hotels may cost RMB 1,100.50 per night, i.e. the director limit.",
        "Call ext. 8000 or see https://id.nwh.example/reset.",
        "Version 2.3.1 of NWH Connect is required.",
        "Dr. Smith approves exceptions!",
        "Is it clear?",
        "Yes.",
    ]
    # an answer word that opens a text stays with the sentence after it
    assert split_units("No. Automatic forwarding to external domains is blocked. Use the app.") == [
        "No. Automatic forwarding to external domains is blocked.",
        "Use the app.",
    ]


def test_a_company_suffix_ends_a_sentence_only_before_a_capital():
    assert split_units(INTRO) == [
        "This policy applies to all business travel by employees of Northwind Harbor Tech Co., Ltd.",
        "It sets the class of travel, hotel limits, per-diem rates and ground transport rules.",
    ]
    assert split_units("Bring snacks, drinks etc. and a badge. Then sign in.") == [
        "Bring snacks, drinks etc. and a badge.",
        "Then sign in.",
    ]


def test_markdown_list_items_and_table_rows_are_units_and_the_rule_is_not():
    units = split_units(PER_DIEM)
    assert "| Tier 1 cities | RMB 200 |" in units and "| Destination | Daily per-diem |" in units
    assert "|---|---|" not in units
    items = [u for u in split_units(HOTEL) if u.startswith("- ")]
    assert len(items) == 5 and items[0].endswith("RMB 1,100 for directors and above.")
    assert split_units("## Per-diem rates\nThe full rate is paid.") == ["The full rate is paid."]


def test_chinese_sentences_split_at_full_stops_exclamations_questions_and_semicolons():
    assert split_units(LOCKED) == [
        "连续输错 5 次密码后账号会被锁定 15 分钟，时间到后自动解锁。",
        "如果急需使用，可以通过 id.nwh.example/reset 自助重置密码立即解锁，或拨打 IT 服务台分机 8000。",
    ]
    assert split_units("先重启电脑；仍然很慢？请提交工单！谢谢") == [
        "先重启电脑；",
        "仍然很慢？",
        "请提交工单！",
        "谢谢",
    ]
    # a short answer word stays with the sentence after it
    assert split_units(COLOR)[0] == "有。每人每月彩色打印额度为 200 页，黑白打印不限量，额度在每月 1 日重置。"
    assert split_units(SYSTEMS)[1] == "- PeoplePort（people.nwh.example）：休假、薪酬、个人信息和绩效。"


def test_whitespace_is_normalised_and_pdf_line_wraps_in_chinese_closed():
    assert normalize_ws("  a \t b \n\n  c  ") == "a b\nc"
    assert (
        normalize_ws("回收 处置的全过程，外包人 员。14 英寸 MacBook Pro")
        == "回收处置的全过程，外包人员。14 英寸 MacBook Pro"
    )


# --- choosing and quoting -------------------------------------------------------------------------


def test_an_english_doc_question_quotes_the_matching_list_item_with_its_citation():
    ex = extract_answer("whats the hotel cap in shanghai for a normal employee", TRAVEL, "en")
    assert ex is not None and ex.lead_in == "From the Travel Policy (Hotel limits by city tier):"
    assert [q.n for q in ex.quotes] == [1]
    assert (
        "- Tier 1 cities (Beijing, Shanghai, Guangzhou, Shenzhen): RMB 800 for employees" in ex.quotes[0].text
    )
    assert ex.text.splitlines()[1].startswith("> ") and ex.text.rstrip().endswith("[1]")
    assert_verbatim(ex, TRAVEL, "en")


def test_a_table_row_is_quoted_and_the_citation_does_not_become_a_cell():
    ex = extract_answer("per diem for hong kong?", TRAVEL, "en")
    assert ex is not None and ex.quotes[0].n == 2 and ex.lead_in == "From the Travel Policy (Per-diem rates):"
    assert "| Hong Kong and Singapore | SGD 80 |" in ex.quotes[0].text
    assert ex.text.endswith(">\n> [2]")
    assert_verbatim(ex, TRAVEL, "en")


def test_the_chunk_context_line_of_a_doc_is_never_quoted():
    ex = extract_answer("how much per km for using my own car", TRAVEL, "en")
    assert ex is not None and ex.quotes[0].n == 3
    assert "RMB 1.2 per km" in ex.quotes[0].text and "Travel Policy >" not in ex.text.split("\n", 1)[1]
    assert_verbatim(ex, TRAVEL, "en")


def test_an_english_faq_gets_the_faq_lead_in():
    ps = [faq(1, LEAVE_Q, LEAVE), faq(2, PWD_RESET_Q, PWD_RESET)]
    ex = extract_answer("forgot my password, how do I reset it", ps, "en")
    assert ex is not None and ex.lead_in == "From the FAQ “How do I reset my password?”:"
    assert ex.quotes[0].n == 2 and "https://id.nwh.example/reset" in ex.quotes[0].text
    assert_verbatim(ex, ps, "en")


def test_a_simplified_question_is_quoted_in_simplified():
    ps = [faq(1, LOCKED_Q, LOCKED), faq(2, CARRY_Q, CARRY)]
    ex = extract_answer("年假没休完能留到明年用吗", ps, "zh-Hans")
    assert ex is not None and ex.lead_in == "根据常见问题「没休完的年假可以结转到明年吗？」："
    assert ex.quotes[0].n == 2 and "每年最多结转 5 天未休年假到下一年" in ex.quotes[0].text
    assert_verbatim(ex, ps, "zh-Hans")


def test_a_traditional_question_gets_the_quote_and_the_title_in_traditional():
    ps = [faq(1, LOCKED_Q, LOCKED), faq(2, CARRY_Q, CARRY)]
    ex = extract_answer("年假沒休完可以結轉到明年嗎？", ps, "zh-Hant")
    assert ex is not None and ex.lead_in == "根據常見問題「沒休完的年假可以結轉到明年嗎？」："
    quote = ex.quotes[0].text
    assert "每年最多結轉 5 天未休年假到下一年" in quote and to_simplified(quote) != quote
    assert_verbatim(ex, ps, "zh-Hant")
    locked = extract_answer("帳號被鎖定多久會自動解鎖", ps, "zh-Hant")
    assert locked is not None and locked.quotes[0].n == 1 and "鎖定 15 分鐘" in locked.quotes[0].text
    assert_verbatim(locked, ps, "zh-Hant")


def test_a_chinese_doc_gets_the_document_and_section_in_the_lead_in():
    ps = [
        doc(1, "入职第一天", FIRST_DAY, title="新员工入职指南"),
        doc(2, "试用期与转正", PROBATION, title="新员工入职指南"),
    ]
    ex = extract_answer("試用期多長？可以提前轉正嗎？", ps, "zh-Hant")
    assert ex is not None and ex.lead_in == "根據《新員工入職指南》（試用期與轉正）："
    assert ex.quotes[0].n == 2 and "提前轉正" in ex.quotes[0].text
    assert_verbatim(ex, ps, "zh-Hant")
    simp = extract_answer("入职第一天几点到哪里报到", ps, "zh-Hans")
    assert simp is not None and simp.lead_in == "根据《新员工入职指南》（入职第一天）："
    assert "9:30 到上海总部 8 楼前台报到" in simp.quotes[0].text
    assert_verbatim(simp, ps, "zh-Hans")


def test_a_lead_ending_in_a_colon_is_quoted_with_what_it_introduces():
    ps = [doc(1, "常用系统一览", SYSTEMS, title="新员工入职指南")]
    ex = extract_answer("日常最常用的内部系统有哪些", ps, "zh-Hans")
    assert ex is not None
    lines = ex.quotes[0].text.split("\n")
    assert not lines[-1].endswith("：") and lines[-1].startswith("- ")
    assert_verbatim(ex, ps, "zh-Hans")


def test_an_english_question_about_a_chinese_passage_quotes_it_untranslated():
    ps = [doc(1, "常用系统一览", SYSTEMS, title="新员工入职指南")]
    ex = extract_answer("What is SpendWise (spend.nwh.example) used for?", ps, "en")
    assert ex is not None and ex.lead_in == "From the 新员工入职指南 (常用系统一览):"
    assert "SpendWise（spend.nwh.example）：费用报销、采购申请和供应商发票。" in ex.quotes[0].text
    assert_verbatim(ex, ps, "en")


def test_the_citation_numbers_are_the_passages_own():
    ps = [doc(4, "Per-diem rates", PER_DIEM), doc(7, "Ground transport and mileage", GROUND_CHUNK)]
    ex = extract_answer("is the per diem halved on the departure day?", ps, "en")
    assert ex is not None and [q.n for q in ex.quotes] == [4]
    assert "[4]" in ex.text and "[1]" not in ex.text and "halved" in ex.quotes[0].text
    assert_verbatim(ex, ps, "en")


def test_quoted_sentences_keep_their_order_and_stay_within_max_sentences():
    ps = [faq(1, LEAVE_Q, LEAVE)]
    ex = extract_answer("how many days of annual leave do I get and where do I see my balance", ps, "en")
    assert ex is not None
    text = ex.quotes[0].text
    assert text.index("12 days") < text.index("PeoplePort")  # the passage's order
    one = extract_answer("how many days of annual leave do I get and where do I see my balance", ps, "en",
                         max_sentences=1)  # fmt: skip
    assert one is not None and len(split_units(one.quotes[0].text)) == 1


def test_max_chars_bounds_the_quotes_and_cuts_a_long_sentence_at_a_boundary():
    for limit in (600, 150, 60, 25):
        ex = extract_answer("what does the per diem cover and is it halved on departure days", TRAVEL, "en",
                            max_chars=limit)  # fmt: skip
        assert ex is not None and sum(len(q.text) for q in ex.quotes) <= limit
        assert_verbatim(ex, TRAVEL, "en")
    cut = extract_answer("what does the per diem cover", TRAVEL, "en", max_chars=60)
    assert cut is not None and "…" in cut.text and not cut.quotes[0].text.endswith(" ")


def test_no_match_no_passages_or_an_empty_question_give_none():
    assert extract_answer("do we have a sabbatical program?", TRAVEL, "en") is None
    assert extract_answer("公司有员工宿舍吗", TRAVEL, "zh-Hans") is None
    assert extract_answer("whats the hotel cap in shanghai", [], "en") is None
    assert extract_answer("   ", TRAVEL, "en") is None
    # the threshold is the caller's to set
    assert extract_answer("hotel cap in shanghai for staff", TRAVEL, "en", min_overlap=1.01) is None


def test_a_chunk_that_opens_mid_sentence_does_not_quote_the_fragment():
    chunk = "Travel Policy > Ground transport and mileage\nand parking, based on the route shown in a map app.\n" \
            "Car rental is only allowed when it is cheaper than taxis for the whole trip."  # fmt: skip
    ex = extract_answer(
        "is parking reimbursed, and car rental", [doc(1, "Ground transport and mileage", chunk)], "en"
    )
    assert ex is not None and not ex.quotes[0].text.startswith("and parking")


def test_an_opening_this_brings_the_sentence_it_refers_to():
    ps = [doc(1, "Travel Policy", INTRO)]
    ex = extract_answer("what does it set: class of travel and hotel limits?", ps, "en", max_sentences=2)
    assert ex is not None and ex.quotes[0].text.startswith("This policy applies")


def test_a_second_passage_adds_one_distinct_strongly_matching_fact():
    ps = [faq(1, LEAVE_Q, LEAVE), faq(2, PWD_RESET_Q, PWD_RESET), doc(3, "Per-diem rates", PER_DIEM)]
    ex = extract_answer("how many days of annual leave do I get, and how do I reset my password", ps, "en")
    assert ex is not None and sorted(q.n for q in ex.quotes) == [1, 2]
    assert ex.text.count("\n\nAlso, from the FAQ “") == 1 and ex.text.count("> ") == 2
    assert_verbatim(ex, ps, "en")
    zh = [faq(1, LOCKED_Q, LOCKED), faq(2, CARRY_Q, CARRY), faq(3, COLOR_Q, COLOR)]
    both = extract_answer("账号被锁定多久解锁？彩色打印每月额度多少页？", zh, "zh-Hans")
    assert (
        both is not None and sorted(q.n for q in both.quotes) == [1, 3] and "\n\n另据常见问题「" in both.text
    )
    assert_verbatim(both, zh, "zh-Hans")


def test_a_second_passage_is_not_added_for_the_same_fact_or_a_weak_match():
    twice = [faq(1, LEAVE_Q, LEAVE), faq(2, LEAVE_Q, LEAVE)]
    only = extract_answer("how many days of annual leave do I get", twice, "en")
    assert only is not None and len(only.quotes) == 1
    ex = extract_answer("whats the hotel cap in shanghai for a normal employee", TRAVEL, "en")
    assert ex is not None and len(ex.quotes) == 1


def test_an_unknown_language_code_is_detected_from_the_question():
    ex = extract_answer("帳號被鎖定多久會自動解鎖", [faq(1, LOCKED_Q, LOCKED)], "zh")
    assert ex is not None and ex.lead_in.startswith("根據")


def test_the_result_types():
    ex = extract_answer("per diem for hong kong?", TRAVEL, "en")
    assert isinstance(ex, Extract) and all(isinstance(q, Quote) for q in ex.quotes)
    with pytest.raises(ValueError):
        extract_answer("per diem", TRAVEL, "en", max_chars=0)


def test_five_passages_of_700_characters_take_milliseconds():
    zh = (FIRST_DAY + PROBATION + SYSTEMS)[:700]
    ps = [doc(i, f"S{i}", (PER_DIEM + HOTEL)[i * 20 : i * 20 + 700]) for i in range(1, 4)]
    ps += [doc(i, f"Z{i}", zh[i:] + zh[:i], title="新员工入职指南") for i in range(4, 6)]
    extract_answer("试用期多久", ps, "zh-Hant")  # jieba and OpenCC loaded, as in the server
    t0 = time.thread_time()
    for i in range(5):
        extract_answer(
            f"试用期多久 {i}", [p.__class__(**{**p.__dict__, "text": p.text + str(i)}) for p in ps], "zh-Hant"
        )
    assert (time.thread_time() - t0) / 5 < 0.025  # ~2-3 ms of CPU; loose for slow CI machines
