"""Writes evals/datasets/pii.jsonl, the labelled set the PII redaction is measured on.

    python benchmarks/privacy/build_pii_dataset.py

Messages are written here by hand with their identifiers marked inline (``⟦TYPE:text⟧``); the
marks become character spans. Resident ID and card numbers are made up (seeded) with valid check
digits where the message holds a real-looking one, and deliberately broken ones for the hard
negatives, so the labels do not depend on the redactor (app/privacy/redact.py), which was written
after this set. Every number here is fictional.

Row: {"id": "p-0001", "lang": "zh-Hans"|"zh-Hant"|"en", "text": ..., "spans": [{"start", "end",
"type"}]} with type EMAIL | PHONE | ID | CARD; "hard_negative": true marks rows built to look like
PII without being any (order numbers, dates, amounts, versions, bad checksums).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "evals" / "datasets" / "pii.jsonl"

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_AREAS = ("110105", "310115", "440305", "510107", "320102", "330106", "420111", "610113", "350203")
_CARD_PREFIXES = ("622202", "621700", "622848", "625967", "4392", "5187", "6217", "4563")

rng = random.Random(23)


def _id_valid() -> str:
    body = rng.choice(_AREAS) + f"{rng.randint(1955, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body += f"{rng.randint(0, 999):03d}"
    return body + _ID_CHECK[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]


def _id_bad() -> str:
    good = _id_valid()
    wrong = [c for c in "0123456789X" if c != good[-1]]
    return good[:-1] + rng.choice(wrong)


def _luhn_digit(body: str) -> str:
    total = 0
    for i, d in enumerate(reversed(body)):
        n = int(d)
        if i % 2 == 0:  # doubled: the check digit will sit to the right of these
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return str((10 - total % 10) % 10)


def _card_valid(length: int = 16) -> str:
    body = rng.choice(_CARD_PREFIXES)
    body += "".join(str(rng.randint(0, 9)) for _ in range(length - 1 - len(body)))
    return body + _luhn_digit(body)


def _card_bad(length: int = 16) -> str:
    good = _card_valid(length)
    return good[:-1] + str((int(good[-1]) + rng.randint(1, 9)) % 10)


def _grouped(number: str, sep: str) -> str:
    return sep.join(number[i : i + 4] for i in range(0, len(number), 4))


def _luhn_ok(number: str) -> bool:
    return _luhn_digit(number[:-1]) == number[-1]


def _order_number(length: int, luhn: bool | None = None) -> str:
    """A made-up order/tracking number; `luhn` forces it to pass (True) or fail (False) the card check."""
    while True:
        n = "2024" + "".join(str(rng.randint(0, 9)) for _ in range(length - 4))
        if luhn is None or _luhn_ok(n) == luhn:
            return n


def _fill(template: str) -> str:
    """Replace the generated-number slots; valid ones are marked as labelled spans."""
    slots = {
        "{ID}": lambda: f"⟦ID:{_id_valid()}⟧",
        "{IDX}": lambda: f"⟦ID:{_id_valid_x()}⟧",
        "{BADID}": _id_bad,
        "{CARD}": lambda: f"⟦CARD:{_card_valid()}⟧",
        "{CARD19}": lambda: f"⟦CARD:{_card_valid(19)}⟧",
        "{CARD_SP}": lambda: f"⟦CARD:{_grouped(_card_valid(), ' ')}⟧",
        "{CARD_DASH}": lambda: f"⟦CARD:{_grouped(_card_valid(), '-')}⟧",
        "{CARD19_SP}": lambda: f"⟦CARD:{_grouped(_card_valid(19), ' ')}⟧",
        "{BADCARD}": _card_bad,
        "{BADCARD_SP}": lambda: _grouped(_card_bad(), " "),
        "{BADCARD19}": lambda: _card_bad(19),
        "{ORDER16}": lambda: _order_number(16),
        "{ORDER18}": lambda: _order_number(18),
        "{ORDER19_LUHN}": lambda: _order_number(19, luhn=True),
        "{ORDER16_LUHN}": lambda: _order_number(16, luhn=True),
        "{DIGITS18}": lambda: "".join(str(rng.randint(0, 9)) for _ in range(18)),
    }
    for slot, make in slots.items():
        while slot in template:
            template = template.replace(slot, make(), 1)
    return template


def _id_valid_x() -> str:
    """A valid ID whose check character is X (about one in eleven are)."""
    while True:
        n = _id_valid()
        if n.endswith("X"):
            return n


# (lang, template, hard_negative)
MESSAGES: list[tuple[str, str, bool]] = [
    # --- email ---------------------------------------------------------------------------------------
    ("zh-Hans", "我的邮箱是 ⟦EMAIL:wangfang@163.com⟧，请把报销单发给我", False),
    ("zh-Hans", "请联系⟦EMAIL:li.wei@nwh.example⟧帮我重置密码", False),
    ("zh-Hans", "邮箱：⟦EMAIL:zhang_san+hr@example.com.cn⟧ 收不到验证码怎么办", False),
    ("zh-Hant", "我的信箱是⟦EMAIL:chen.jy@company.com.tw⟧，請回覆我", False),
    ("zh-Hant", "請寄到 ⟦EMAIL:amy_lin@gmail.com⟧ 謝謝", False),
    ("en", "Please send the form to ⟦EMAIL:john.smith@contoso.com⟧ by Friday", False),
    ("en", "My personal email ⟦EMAIL:j.doe1987@outlook.com⟧ stopped receiving payslips", False),
    ("en", "cc ⟦EMAIL:HR-Team@Northwind.example⟧ and ⟦EMAIL:manager.ops@nwh.example⟧ please", False),
    ("en", "reach me at <⟦EMAIL:kevin.o'neil@mail.example.org⟧> after 5pm", False),
    ("zh-Hans", "用⟦EMAIL:13912345678@139.com⟧这个邮箱登录不了VPN", False),
    ("zh-Hans", "发送到⟦EMAIL:liu.yang@qq.com⟧或者⟦EMAIL:ly2020@foxmail.com⟧都行", False),
    ("en", "Is ⟦EMAIL:sara.kim@sub.dept.example.co.uk⟧ on the travel approvers list?", False),
    # --- phone: mainland mobile ------------------------------------------------------------------------
    ("zh-Hans", "我的手机号是⟦PHONE:13812345678⟧，麻烦回电", False),
    ("zh-Hans", "电话 ⟦PHONE:139 1234 5678⟧ 打不通是怎么回事", False),
    ("zh-Hans", "请打⟦PHONE:+86 138-0013-8000⟧联系我", False),
    ("zh-Hans", "联系方式：⟦PHONE:+8615912345678⟧", False),
    ("zh-Hans", "手机⟦PHONE:0086 18600001111⟧，微信同号", False),
    ("zh-Hans", "新员工王磊，手机⟦PHONE:177-2345-6789⟧，下周一入职", False),
    ("zh-Hant", "我在大陸的手機是⟦PHONE:13698765432⟧", False),
    ("en", "Call me on ⟦PHONE:+86 135 7777 8888⟧ when the laptop is ready", False),
    ("en", "My number changed to ⟦PHONE:18912340000⟧, please update the directory", False),
    ("zh-Hans", "我换号了，新号码⟦PHONE:199 8888 6666⟧，旧号⟦PHONE:13011112222⟧停用", False),
    # --- phone: mainland landline ----------------------------------------------------------------------
    ("zh-Hans", "办公室电话⟦PHONE:010-62345678⟧转人事部", False),
    ("zh-Hans", "上海分公司座机⟦PHONE:021-6123 4567⟧一直占线", False),
    ("zh-Hans", "深圳前台 ⟦PHONE:(0755) 8888 1234⟧", False),
    ("zh-Hans", "杭州的号码是⟦PHONE:0571-87654321⟧吗", False),
    ("en", "The Beijing office line ⟦PHONE:+86 10 6234 5678⟧ is not working", False),
    ("zh-Hans", "成都办公室⟦PHONE:028-85551234⟧，找李经理", False),
    # --- phone: Taiwan ---------------------------------------------------------------------------------
    ("zh-Hant", "我的手機是⟦PHONE:0912-345-678⟧，請回撥", False),
    ("zh-Hant", "手機號碼⟦PHONE:0928123456⟧換了", False),
    ("zh-Hant", "請打⟦PHONE:+886 912 345 678⟧找我", False),
    ("zh-Hant", "聯絡電話：⟦PHONE:+886-933-222-111⟧", False),
    ("zh-Hant", "台北辦公室電話⟦PHONE:(02)2345-6789⟧分機找不到", False),
    ("zh-Hant", "台中分公司 ⟦PHONE:04-2234-5678⟧ 是總機嗎", False),
    ("zh-Hant", "高雄的電話是⟦PHONE:07-3123456⟧", False),
    ("en", "Taipei desk: ⟦PHONE:02-2712-3456⟧, ask for Grace", False),
    ("zh-Hant", "我家電話⟦PHONE:(03) 425-1234⟧，白天沒人", False),
    # --- phone: international --------------------------------------------------------------------------
    ("en", "You can reach me on ⟦PHONE:+1 415 555 0132⟧ while I'm in SF", False),
    ("en", "London office: ⟦PHONE:+44 20 7946 0958⟧", False),
    ("en", "My HK mobile is ⟦PHONE:+852 9123 4567⟧", False),
    ("en", "Singapore number ⟦PHONE:+65 6123 4567⟧ for the vendor", False),
    ("en", "Tokyo contact: ⟦PHONE:+81-3-1234-5678⟧", False),
    ("zh-Hans", "我在德国出差，电话⟦PHONE:+49 30 1234567⟧", False),
    ("en", "call ⟦PHONE:+1 (212) 555-0199⟧ for the US payroll team", False),
    ("zh-Hant", "我在日本，手機⟦PHONE:+81 90-1234-5678⟧", False),
    # --- resident ID -----------------------------------------------------------------------------------
    ("zh-Hans", "我的身份证号是{ID}，帮我查一下社保", False),
    ("zh-Hans", "身份证：{ID} 办理公积金提取", False),
    ("zh-Hans", "报销系统要填身份证号{IDX}吗", False),
    ("zh-Hans", "家属{ID}的医保怎么加", False),
    ("zh-Hant", "我的大陸身分證號碼是{ID}", False),
    ("en", "My resident ID is {ID}, can HR update my record?", False),
    ("zh-Hans", "证件号码 {IDX} 提示格式不对", False),
    ("zh-Hans", "{ID}这个身份证号能不能用来开工资卡", False),
    ("en", "ID number: {ID}", False),
    ("zh-Hans", "帮我母亲登记体检，身份证{ID}，电话⟦PHONE:13577778888⟧", False),
    ("zh-Hans", "新员工身份证号码{ID}，请建档", False),
    ("zh-Hans", "个税App里的身份证{ID}和人事系统不一致", False),
    # --- bank card -------------------------------------------------------------------------------------
    ("zh-Hans", "工资卡号{CARD}，下个月改发到这张", False),
    ("zh-Hans", "我的银行卡 {CARD_SP} 收不到报销款", False),
    ("zh-Hans", "卡号：{CARD_DASH}", False),
    ("zh-Hans", "招商银行卡{CARD19}能绑定吗", False),
    ("zh-Hant", "我的銀行帳號是{CARD}，薪水沒入帳", False),
    ("zh-Hant", "信用卡 {CARD_SP} 被扣了兩次年費", False),
    ("en", "Please refund to card {CARD_SP}", False),
    ("en", "my corporate card {CARD} was declined at the hotel", False),
    ("en", "Card number {CARD_DASH}, expiry 09/28", False),
    ("zh-Hans", "新的工资卡{CARD19_SP}，开户行建设银行", False),
    ("zh-Hans", "公务卡{CARD}还款日是哪天", False),
    ("en", "Reimburse to {CARD19} please, the old card is closed", False),
    ("zh-Hans", "帮我查下{ID}名下的年假余额", False),
    ("zh-Hant", "身分證字號{IDX}可以當作員工編號嗎", False),
    ("en", "Passport lost, can I use my resident ID {ID} for the hotel?", False),
    ("zh-Hans", "入职材料：身份证 {ID}，学历证明已上传", False),
    ("zh-Hans", "社保卡上的号码{ID}和身份证一样吗", False),
    ("en", "Spouse's ID {IDX} for the insurance form", False),
    ("zh-Hans", "公积金贷款还款卡号{CARD19}", False),
    ("zh-Hant", "請匯款到{CARD_DASH}，戶名王小明", False),
    ("en", "Old card {CARD} was lost, the new one is {CARD_SP}", False),
    ("zh-Hans", "农行卡{CARD}绑定失败", False),
    ("en", "My Visa {CARD_SP} shows a foreign transaction fee", False),
    ("zh-Hans", "差旅费打到尾号不对的卡了，正确卡号是{CARD19_SP}", False),
    # --- mixed -----------------------------------------------------------------------------------------
    ("zh-Hans", "我叫张伟，身份证{ID}，手机⟦PHONE:13912345678⟧，邮箱⟦EMAIL:zhangwei@nwh.example⟧", False),
    ("en", "Name: Priya, phone ⟦PHONE:+44 7700 900123⟧, email ⟦EMAIL:priya.r@nwh.example⟧", False),
    ("zh-Hant", "我叫林美玲，手機⟦PHONE:0955-123-456⟧，信箱⟦EMAIL:meiling.lin@nwh.example⟧", False),
    ("zh-Hans", "报销打到{CARD_SP}，有问题打⟦PHONE:186 1234 5678⟧", False),
    ("en", "Contact ⟦EMAIL:tom@nwh.example⟧ or ⟦PHONE:+1 415 555 0177⟧, card on file {CARD}", False),
    ("zh-Hans", "订单2024051712345的发票请寄到⟦EMAIL:fapiao@nwh.example⟧", False),
    ("zh-Hans", "VPN账号绑定的手机号⟦PHONE:15800001234⟧需要换成新的", False),
    ("zh-Hans", "我的身份证{ID}和银行卡{CARD}都已经提交了", False),
    # --- hard negatives: order / tracking / ticket numbers --------------------------------------------
    ("zh-Hans", "订单号{ORDER16}什么时候发货", True),
    ("zh-Hans", "我的订单{ORDER18}还没审批", True),
    ("zh-Hans", "淘宝订单号{ORDER19_LUHN}的发票怎么报销", True),
    ("en", "Order #{ORDER16_LUHN} still shows pending", True),
    ("zh-Hant", "訂單編號{ORDER18}的退款進度", True),
    ("en", "Tracking number SF1234567890123 has not moved for three days", True),
    ("zh-Hans", "快递单号 YT7654321098765 查不到", True),
    ("zh-Hans", "运单号{ORDER16_LUHN}显示已签收", True),
    ("en", "my ticket AD-1A2B3C4D was closed without an answer", True),
    ("zh-Hans", "工单号INC0012345678还在处理吗", True),
    ("en", "PO number 4500123456 needs a second approver", True),
    ("zh-Hans", "采购单号 PR-2024-000123 被退回了", True),
    ("en", "Invoice INV-20240517-0042 is missing a tax number", True),
    ("zh-Hans", "发票号码 24312000000012345678 查验失败", True),
    ("zh-Hant", "發票號碼 AB-12345678 要怎麼登錄", True),
    # --- hard negatives: dates, times, amounts ---------------------------------------------------------
    ("zh-Hans", "2024-05-17 到 2024-05-20 请年假", True),
    ("zh-Hans", "报销截止日期是2024年12月31日吗", True),
    ("en", "I was out 2024/03/01-2024/03/15, how many days of leave is that?", True),
    ("zh-Hans", "会议定在 13:45，地点 3 楼", True),
    ("zh-Hans", "金额 ¥12,345.67 超过了审批上限吗", True),
    ("en", "Is RMB 1,234,567 within the director's approval limit?", True),
    ("zh-Hans", "差旅补助每天200元，一共15天就是3000元", True),
    ("zh-Hant", "報銷金額 NT$ 25,000 需要誰簽核", True),
    ("en", "The budget line 20240517 shows 98765.43 spent", True),
    ("zh-Hans", "20240101至20241231的工资条在哪里下载", True),
    ("en", "Timestamp 1715930000123 in the log, what happened then?", True),
    ("zh-Hans", "时间戳1715930000在日志里是什么意思", True),
    # --- hard negatives: versions, addresses, codes ----------------------------------------------------
    ("en", "Should I upgrade to v2.13.0 or stay on 2.12.4?", True),
    ("en", "Windows build 10.0.19045.3803 fails the compliance check", True),
    ("zh-Hans", "客户端版本 5.4.1.20240517 闪退", True),
    ("en", "The printer's IP is 10.0.12.5, port 9100", True),
    ("zh-Hans", "内网地址 192.168.100.254 打不开", True),
    ("en", "Call the service desk on ext. 8000", True),
    ("zh-Hans", "服务台分机 8000，工作时间 9:00-18:00", True),
    ("zh-Hans", "邮编 200120，浦东新区", True),
    ("en", "Employee number E1024 cannot log in", True),
    ("zh-Hans", "工号 NW2024001 的考勤异常", True),
    ("en", "Room 1203, building 3, floor 12", True),
    ("en", "ISBN 978-7-111-12345-6 for the training book", True),
    ("zh-Hans", "资产编号 NWH-IT-000123 的电脑要归还", True),
    ("en", "MAC address 3C:22:FB:12:34:56 is blocked", True),
    ("zh-Hans", "车牌号沪A12345可以办停车证吗", True),
    ("en", "Error code 0x80070005 when installing Office", True),
    ("en", "Meeting ID 812 3456 7890, passcode 123456", True),
    ("zh-Hans", "腾讯会议号 123 456 789 进不去", True),
    ("en", "Serial number SN13812345678X on the laptop sticker", True),
    # --- hard negatives: checksum failures and near misses ---------------------------------------------
    ("zh-Hans", "身份证号{BADID}提示无效是怎么回事", True),
    ("zh-Hans", "这个号码{BADID}是身份证吗", True),
    ("en", "The form rejected {BADID} as an ID number", True),
    ("zh-Hant", "身分證號碼{BADID}系統說錯誤", True),
    ("zh-Hans", "这串数字{DIGITS18}是什么编号", True),
    ("zh-Hans", "卡号{BADCARD}显示无效", True),
    ("zh-Hans", "银行卡 {BADCARD_SP} 校验不通过", True),
    ("en", "the card number {BADCARD} gets 'invalid card'", True),
    ("en", "Is {BADCARD19} a valid account number?", True),
    ("zh-Hant", "卡號{BADCARD_SP}系統不接受", True),
    ("zh-Hans", "号码12345678901是不是打错了", True),
    ("zh-Hans", "验证码 483920 五分钟内有效", True),
    ("en", "Use PIN 0000 for the meeting room display", True),
    ("zh-Hans", "请假 3 天，2 天年假 + 1 天调休", True),
    ("en", "email me the link, not the PDF", True),
    ("en", "mention @channel in Slack and @here", True),
    ("zh-Hans", "邮箱地址格式是 名字.姓氏@公司域名 吗", True),
    ("en", "what's the format: firstname.lastname at company domain?", True),
    ("zh-Hans", "电话会议在周三下午三点", True),
    ("en", "Phone numbers in the directory look like 8-000 now", True),
    # --- plain messages, no PII ------------------------------------------------------------------------
    ("zh-Hans", "年假有多少天？", False),
    ("zh-Hans", "VPN 连不上怎么办", False),
    ("zh-Hans", "婚假有几天？", False),
    ("zh-Hant", "婚假可以休幾天？", False),
    ("zh-Hant", "出差住宿標準是多少", False),
    ("en", "how many days of annual leave do I get", False),
    ("en", "What is the per-diem rate for tier 1 cities?", False),
    ("en", "How do I connect to the VPN from home?", False),
    ("zh-Hans", "我想转人工", False),
    ("en", "talk to a human please", False),
    ("zh-Hans", "打印机怎么连", False),
    ("en", "where do I submit expense claims?", False),
    ("zh-Hant", "密碼忘記了怎麼重設", False),
    ("zh-Hans", "入职第一天几点到哪里报到？", False),
    ("en", "do we have a sabbatical program?", False),
]

_MARK = re.compile(r"⟦(EMAIL|PHONE|ID|CARD):(.+?)⟧")


def build() -> list[dict]:
    rows = []
    for i, (lang, template, hard) in enumerate(MESSAGES, 1):
        marked = _fill(template)
        text, spans, pos = "", [], 0
        for m in _MARK.finditer(marked):
            text += marked[pos : m.start()]
            spans.append({"start": len(text), "end": len(text) + len(m.group(2)), "type": m.group(1)})
            text += m.group(2)
            pos = m.end()
        text += marked[pos:]
        assert "⟦" not in text and "{" not in text, text
        row = {"id": f"p-{i:04d}", "lang": lang, "text": text, "spans": spans}
        if hard:
            row["hard_negative"] = True
        rows.append(row)
    return rows


def main() -> None:
    rows = build()
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    n_spans = sum(len(r["spans"]) for r in rows)
    print(f"wrote {OUT.relative_to(ROOT)}: {len(rows)} messages, {n_spans} spans, "
          f"{sum(1 for r in rows if not r['spans'])} without PII")  # fmt: skip


if __name__ == "__main__":
    main()
