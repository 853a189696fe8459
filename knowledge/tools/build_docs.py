#!/usr/bin/env python3
"""Regenerate the binary policy documents (DOCX and PDF) in knowledge/docs/.

The Markdown and HTML documents in knowledge/docs/ are edited by hand; this
script only builds the files that cannot be edited as text:

  docs/information-security-policy.docx   (en, python-docx)
  docs/expense-approval-matrix.docx       (zh-Hans, python-docx)
  docs/equipment-lifecycle-policy.pdf     (zh-Hans, reportlab)
  docs/data-retention-policy.pdf          (en, reportlab)

Section rules (so the ingest pipeline names sections predictably):
  * DOCX: document title uses the built-in "Title" style, each section heading
    uses "Heading 1"; body text uses "Normal" / "List Bullet".
  * PDF: headings are short standalone lines in a larger bold font; body text
    is full sentences ending with a period; no line holds only a number.

Usage:  python knowledge/tools/build_docs.py
All content is fictional (Northwind Harbor Tech / 北风港科技).
"""
from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"

# Each document: (title, intro paragraphs, [(heading, [paragraph | ("bullets", [..])])])

INFOSEC = (
    "Information Security Policy",
    ["This policy defines how employees of Northwind Harbor Tech classify, handle and share company information. "
     "It applies to all employees, interns and contractors, and to every device or service that stores company data."],
    [
        ("Purpose and scope", [
            "The goal of this policy is to protect customer data, intellectual property and employee records from loss, misuse and unauthorised disclosure.",
            "The policy is owned by the Chief Information Security Officer (CISO) and is reviewed every year in September. Department heads are responsible for making sure their teams follow it.",
        ]),
        ("Data classification levels", [
            "All company information belongs to one of four classification levels. The owner of a document sets its level when it is created, and the label is shown in the header of Office documents.",
            ("bullets", [
                "Public: information approved for release, such as published marketing material and job advertisements.",
                "Internal: everyday business information such as the intranet, internal announcements and most email. This is the default level.",
                "Confidential: information that could harm the company if disclosed, such as contracts, pricing, product roadmaps and unreleased financial results.",
                "Restricted: the most sensitive data, such as customer personal data, salary and health data, production credentials and code-signing keys.",
            ]),
            "If you are unsure about the level of a document, treat it as Confidential until the owner confirms.",
        ]),
        ("Handling confidential and restricted data", [
            "Confidential data may only be stored in NWH Drive, the approved business systems and company laptops. It may be sent outside the company only as an NWH Drive link protected by a password and set to expire within 7 days.",
            "Restricted data must be encrypted at rest and in transit, may only be processed in systems approved by the Security team, and must never be sent by email to external recipients. Access to Restricted data is granted per person and must be justified by the data owner.",
        ]),
        ("Removable media and printing", [
            "USB storage devices are blocked on company laptops by default. If your work requires one, request a Removable Media Exception in DeskOne; approved users receive an encrypted company USB drive and the exception lasts 30 days.",
            "Restricted documents may only be printed through the FollowMe queue. Printed Confidential and Restricted material must be destroyed in the locked blue shredding bins and must not be thrown into ordinary waste.",
        ]),
        ("Sharing data with third parties", [
            "A non-disclosure agreement must be signed before any Confidential data is shared with a supplier, partner or customer. Restricted data may only be shared when a Data Processing Agreement is in place and Legal has approved the transfer.",
            "Suppliers that store or process company data must pass a security assessment by the Security team before the contract is signed, and the assessment is repeated every year.",
        ]),
        ("Access reviews", [
            "Managers review the system access of their team every quarter through the Access Review campaign in DeskOne, and must complete the review within 14 days of it opening. Access that is not confirmed is removed automatically.",
            "Privileged accounts, such as domain administrators and production database accounts, are reviewed every month by the system owner and the Security team.",
        ]),
        ("Exceptions and violations", [
            "When a business need cannot be met within this policy, request a Security Exception in DeskOne. Exceptions are approved by the CISO, are valid for at most 6 months and must be renewed if still needed.",
            "Violations of this policy may lead to disciplinary action up to and including termination of employment, and may be reported to the authorities where the law requires it.",
        ]),
    ],
)

APPROVAL = (
    "费用审批矩阵",
    ["本矩阵规定北风港科技各类费用和采购的审批层级与时效，适用于公司全体员工。"
     "所有审批均在 SpendWise 中完成，纸质签字不再作为有效审批。"],
    [
        ("适用范围", [
            "本矩阵适用于员工报销、采购申请、业务招待和差旅申请等所有由公司承担的费用。",
            "研发项目的资本性支出另按《资本支出管理办法》执行，不适用本矩阵。",
        ]),
        ("审批层级", [
            "费用按单笔金额分级审批，金额越高需要的审批层级越多，高一级审批人须在低一级审批完成后审批。",
            ("bullets", [
                "RMB 5,000 及以下：直属经理审批。",
                "RMB 5,000 以上至 20,000：直属经理和部门总监审批。",
                "RMB 20,000 以上至 100,000：在上述基础上增加财务总监审批。",
                "RMB 100,000 以上：在上述基础上增加首席执行官（CEO）审批。",
            ]),
            "不得为规避审批层级而拆分费用或采购订单，拆单一经发现，相关申请将全部退回。",
        ]),
        ("采购与比价要求", [
            "单笔采购金额达到 RMB 50,000 的，须至少取得 3 家供应商的书面报价，并在采购申请中说明选择理由。",
            "单笔采购金额达到 RMB 300,000 的，须通过采购部组织的公开招标，由采购委员会集体决策。唯一供应商的情况须由采购部出具书面说明并经财务总监批准。",
        ]),
        ("业务招待标准", [
            "宴请客户须事先在 SpendWise 提交招待申请，写明客户单位、人数和事由。人均标准为一线城市 RMB 400，其他城市 RMB 300，陪同的公司员工人数不得超过客户人数。",
            "赠送客户的礼品价值每人每次不得超过 RMB 200，严禁赠送现金、购物卡或有价证券。对政府机关和国有企业人员的招待须事先经法务部确认。",
        ]),
        ("差旅审批", [
            "国内出差由直属经理在 TripDesk 中审批。国际出差须经直属经理和部门总监审批，并至少在出发前 10 个工作日提交申请。",
            "同一团队 5 人及以上同行出差，或单次差旅预算超过 RMB 50,000 的，须增加财务总监审批。",
        ]),
        ("特殊费用事项", [
            "对外捐赠和赞助无论金额大小均须经 CEO 审批，并由法务部审核协议。外部咨询服务费须经法务部审核合同后方可付款。",
            "协会会员费和行业会议赞助费须由部门总监审批，并在年度预算中列明。软件订阅类费用须先经 IT 部门确认，避免重复采购。",
        ]),
        ("审批时效", [
            "审批人须在收到申请后 3 个工作日内处理，第 2 个工作日起系统每天发送提醒邮件。超过 5 个工作日未处理的申请会自动升级给上一级审批人。",
            "审批人休假超过 2 个工作日时，须在 SpendWise 中设置审批代理人，代理人的审批权限不得高于本人。",
        ]),
    ],
)

EQUIPMENT = (
    "设备生命周期与归还政策",
    ["本政策规定公司配发给员工的笔记本电脑、显示器和手机等 IT 设备从配发、更换、维修到回收处置的全过程要求。"
     "所有设备均为公司资产，员工负有妥善保管的责任。"],
    [
        ("适用范围", [
            "本政策适用于北风港科技上海总部、深圳办公室和新加坡办公室的全体员工、实习生和外包人员。",
            "本政策覆盖的设备包括笔记本电脑、显示器、扩展坞、公司手机、硬件安全密钥以及其他登记在 IT 资产系统中的设备。",
            "外设的申领流程请参考 IT 常见问题，本政策只规定设备的标准配置、使用年限和处置要求。",
        ]),
        ("标准设备配置", [
            "研发和数据岗位的标准笔记本电脑为 14 英寸 MacBook Pro，配置 36 GB 内存和 1 TB 硬盘。",
            "其他岗位的标准笔记本电脑为 ThinkPad T14，配置 32 GB 内存和 512 GB 硬盘。经常出差的销售岗位可以选择更轻的 ThinkPad X1 Carbon。",
            "公司手机只配发给销售、客户支持和需要夜间值班的岗位，标准机型每两年评估一次。",
            "如需标准配置以外的设备，须由部门总监在 DeskOne 中说明业务理由并审批，超出标准配置的差价计入部门成本中心。",
        ]),
        ("更换周期", [
            "笔记本电脑的标准更换周期为 4 年，显示器为 6 年，公司手机为 3 年，扩展坞和键盘鼠标在损坏时更换。",
            "设备到期前 60 天，IT 会通过邮件通知使用人预约更换时间。新设备就绪后，使用人须在 10 个工作日内到 IT 服务台完成数据迁移并交回旧设备。",
            "未到更换周期的设备如因性能不足影响工作，可以申请提前更换，须由部门总监审批，并附上 IT 出具的性能检测报告。",
            "同一员工在 12 个月内最多只能申请一次提前更换。",
        ]),
        ("损坏与遗失赔偿", [
            "设备在正常使用中出现的故障由公司免费维修，员工无需承担任何费用。",
            "因个人原因造成的损坏，例如进水、跌落或屏幕压裂，每位员工每 24 个月内的第一次由公司承担维修费用。第二次起由员工承担维修费用的 30%，单次最高不超过 RMB 3,000。",
            "因个人疏忽造成设备遗失的，员工须按设备账面净值的 50% 进行赔偿。设备被盗且能提供公安机关报案回执的，可以免除赔偿。",
            "赔偿金额由 IT 资产管理员核定，经员工确认后从下一个月的工资中扣除，分期扣除的期限最长为 3 个月。",
        ]),
        ("离职设备归还", [
            "员工须在最后工作日 16:00 前，把笔记本电脑、电源适配器、扩展坞、公司手机和硬件安全密钥交回 IT 服务台。IT 核对资产后会在离职流程中签字确认。",
            "远程办公或外地员工可以使用 IT 提供的顺丰到付快递单寄回设备，须至少在最后工作日前 3 个工作日寄出，并保留快递单号。",
            "员工离职前请自行把个人文件从公司设备中删除，公司不负责备份或返还设备中的个人资料。",
            "设备未按时归还或归还时缺少配件的，公司将按设备账面净值向员工追偿。",
        ]),
        ("数据擦除与报废", [
            "所有回收的设备在重新配发或报废前，都会按照 NIST 800-88 标准进行数据擦除，擦除记录在 IT 资产系统中保存 3 年。",
            "无法正常擦除的硬盘会由有资质的回收商进行物理粉碎，回收商须提供销毁证书。",
            "报废设备由 IT 每季度集中处置一次，处置前须经财务部确认资产已完成折旧。",
        ]),
        ("员工购买到期设备", [
            "使用满 4 年的笔记本电脑到期更换时，使用人可以选择购买自己正在使用的旧电脑。",
            "购买价格为 ThinkPad 每台 RMB 800，MacBook Pro 每台 RMB 2,000，费用从当月工资中扣除。",
            "设备会在完成数据擦除并重新安装操作系统后交付给员工，交付后公司不再提供保修和技术支持。",
            "每年 6 月 IT 还会组织一次旧设备内购活动，具体机型和价格以当次通知为准。",
        ]),
    ],
)

RETENTION = (
    "Data Retention Policy",
    ["This policy sets how long Northwind Harbor Tech keeps business records and how they are destroyed at the end of their retention period. "
     "It applies to paper and electronic records in every office and system."],
    [
        ("Purpose", [
            "Keeping records for the right length of time lets the company meet its legal obligations, defend itself in disputes and avoid holding personal data for longer than necessary.",
            "Every system and shared folder has a named data owner, who is responsible for applying the retention periods below to the records in it.",
        ]),
        ("Retention schedule", [
            "The following minimum retention periods apply from the end of the fiscal year in which a record was created, unless stated otherwise.",
            ("bullets", [
                "Accounting vouchers, ledgers and annual financial reports are kept for 30 years.",
                "Bank statements, tax returns and fapiao copies are kept for 10 years.",
                "Customer and supplier contracts are kept for 10 years after the contract ends.",
                "Personnel files are kept for 5 years after the employee leaves the company.",
                "Applications from unsuccessful candidates are deleted 6 months after the recruitment closes unless the candidate agrees to a longer period.",
                "CCTV footage is kept for 90 days and badge access logs are kept for 1 year.",
                "System and security logs are kept for at least 180 days.",
            ]),
        ]),
        ("Email retention", [
            "Email in company mailboxes is kept for 5 years from the date it was sent or received and is then deleted automatically, unless it is under a legal hold.",
            "Emails that must be kept longer as business records, such as signed approvals, should be saved to the relevant system or NWH Drive folder instead of relying on the mailbox.",
        ]),
        ("Legal hold", [
            "When litigation, an investigation or an audit is expected, the Legal team may place a legal hold on specific records or mailboxes. A legal hold suspends all deletion, including automatic deletion, until Legal releases it.",
            "Employees who receive a legal hold notice must confirm it within 5 working days and must not delete, alter or move any of the records covered by it.",
        ]),
        ("Secure disposal", [
            "Paper records are destroyed through the locked shredding bins, and the shredding contractor provides a certificate of destruction for every collection.",
            "Electronic records are deleted from the live systems and expire from backups within 35 days. Each November, data owners run an annual review and confirm in DeskOne that expired records have been deleted.",
        ]),
        ("Exceptions and questions", [
            "To keep a record longer than the schedule allows, send the reason to the Records Manager at records@nwh.example. Extensions are approved by Legal and are granted for at most 3 years at a time.",
            "Questions about this policy can be sent to the same address, and the policy itself is reviewed by Legal every two years.",
        ]),
    ],
)


# ----------------------------------------------------------------------------- DOCX
def build_docx(spec, path: Path, lang: str) -> None:
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Pt

    title, intro, sections = spec
    doc = Document()
    if lang.startswith("zh"):
        for style_name in ("Normal", "Title", "Heading 1", "List Bullet"):
            st = doc.styles[style_name]
            st.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "SimSun")
    doc.styles["Normal"].font.size = Pt(11)
    doc.core_properties.title = title
    doc.core_properties.author = "Northwind Harbor Tech (fictional)"
    doc.add_paragraph(title, style="Title")
    for p in intro:
        doc.add_paragraph(p)
    for heading, body in sections:
        doc.add_paragraph(heading, style="Heading 1")
        for item in body:
            if isinstance(item, tuple) and item[0] == "bullets":
                for b in item[1]:
                    doc.add_paragraph(b, style="List Bullet")
            else:
                doc.add_paragraph(item)
    doc.save(str(path))


# ----------------------------------------------------------------------------- PDF
def build_pdf(spec, path: Path, lang: str) -> None:
    from reportlab.lib.enums import TA_LEFT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    if lang.startswith("zh"):
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        body_font = head_font = "STSong-Light"  # CID font has no bold face
        word_wrap = "CJK"
    else:
        body_font, head_font, word_wrap = "Helvetica", "Helvetica-Bold", None

    title_style = ParagraphStyle("T", fontName=head_font, fontSize=20, leading=26, spaceAfter=10, alignment=TA_LEFT)
    head_style = ParagraphStyle("H", fontName=head_font, fontSize=15, leading=20, spaceBefore=14, spaceAfter=6)
    body_style = ParagraphStyle("B", fontName=body_font, fontSize=11, leading=15, spaceAfter=7)
    bullet_style = ParagraphStyle("L", parent=body_style, leftIndent=12, spaceAfter=4)
    if word_wrap:
        body_style.wordWrap = word_wrap
        bullet_style.wordWrap = word_wrap

    def bold(text: str) -> str:
        # Helvetica-Bold is already bold; <b> on the CID font is a no-op but harmless.
        return f"<b>{text}</b>"

    title, intro, sections = spec
    story = [Paragraph(bold(title), title_style)]
    story += [Paragraph(p, body_style) for p in intro]
    for heading, body in sections:
        story.append(Paragraph(bold(heading), head_style))
        for item in body:
            if isinstance(item, tuple) and item[0] == "bullets":
                # Bullets are plain indented paragraphs starting with "- " so that
                # text extraction keeps each item as one block (no glyph-only lines).
                for b in item[1]:
                    story.append(Paragraph("- " + b, bullet_style))
            else:
                story.append(Paragraph(item, body_style))
        story.append(Spacer(1, 2 * mm))

    doc = SimpleDocTemplate(str(path), pagesize=A4, title=title, author="Northwind Harbor Tech (fictional)",
                            leftMargin=22 * mm, rightMargin=22 * mm, topMargin=20 * mm, bottomMargin=20 * mm,
                            invariant=1)
    doc.build(story)


def main() -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    build_docx(INFOSEC, DOCS / "information-security-policy.docx", "en")
    build_docx(APPROVAL, DOCS / "expense-approval-matrix.docx", "zh-Hans")
    build_pdf(EQUIPMENT, DOCS / "equipment-lifecycle-policy.pdf", "zh-Hans")
    build_pdf(RETENTION, DOCS / "data-retention-policy.pdf", "en")
    for p in sorted(DOCS.iterdir()):
        print(f"{p.relative_to(DOCS.parent)}  {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
