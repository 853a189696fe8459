"""The console's UI text in English and Chinese (Simplified): one dict per language, looked up by key;
a key missing in Chinese falls back to English."""

from __future__ import annotations

LANGS = ("en", "zh")

EN = {
    "title": "AskDesk console", "signin": "Sign in", "signout": "Sign out", "admin_key": "Admin key",
    "your_name": "Your name (for the change history)", "wrong_key": "That is not the admin key.",
    "demo_signin": "This is the keyless local demo: sign in without a key.",
    "dashboard": "Dashboard", "conversations": "Conversations", "tickets": "Tickets", "hittest": "Hit-testing",
    "queue": "Curation queue", "knowledge": "Knowledge", "last_days": "Last {n} days",
    "questions": "Questions", "unanswered_rate": "Unanswered", "thumbs": "Thumbs up / down", "up_rate": "up",
    "p50": "p50 latency", "p95": "p95 latency", "per_day": "Questions per day, by answer mode",
    "latency_over_time": "Latency per day (ms)", "mode_mix": "Mode mix", "top_questions": "Top questions",
    "top_gaps": "Top gaps (not in the knowledge base)", "count": "Count", "no_data": "No data yet.",
    "search": "Search", "from": "From", "to": "To", "mode": "Mode", "language": "Language", "feedback": "Feedback",
    "band": "Confidence", "any": "any", "none": "none", "low": "low", "mid": "medium", "high": "high",
    "filter": "Filter", "question": "Question", "rewritten": "Rewritten query", "answer": "Answer",
    "hits": "Hits", "confidence": "Confidence", "backend": "Backend", "latency": "Latency", "comment": "Comment",
    "when": "When", "next": "Next", "prev": "Previous", "details": "Details", "status": "Status",
    "open": "open", "resolved": "resolved", "note": "Note", "save": "Save", "webhook": "Webhook",
    "not_sent": "not sent (no webhook set)", "transcript": "Transcript", "sources": "Sources",
    "reason": "Reason", "user": "User", "reference": "Reference", "all": "all",
    "ask": "Test", "auto": "auto", "would_answer": "Would answer as", "suggestions": "Suggestions",
    "prompt": "Final rag prompt", "prompt_not_rag": "This question would not go to the LLM; this is what a rag answer would send.", "score": "Score", "entry": "Entry", "used": "used", "intent": "Intent",
    "answerable": "Predicted answerable", "yes": "yes", "no": "no",
    "add_related": "Add as related question of", "create_entry": "Create a FAQ entry",
    "out_of_scope": "Mark out of scope", "members": "Questions in this group", "asked": "asked",
    "queue_empty": "Nothing to curate: every question was answered with confidence.",
    "entry_key": "or an entry id", "category": "Category", "related": "Related questions (one a line)",
    "create": "Create", "edit": "Edit", "delete": "Delete", "curated": "Curated entries",
    "files": "Files", "upload": "Upload", "entries": "entries", "records": "records", "history": "History",
    "rollback": "Roll back", "export": "Export curated entries (CSV)", "who": "Who", "action": "Action",
    "before": "Before", "after": "After", "browse": "Browse", "kind": "Kind", "source": "Source",
    "overrides": "overrides", "saved": "Saved; live for the next question.", "saved_ticket": "Saved.", "copy_of_file": "From {source}: saving makes a console copy that answers for this id from then on (the file is not changed).", "more_groups": "more groups", "new_entry": "New FAQ entry",
    "why_no_answer": "not in the knowledge base", "why_down": "thumbs down", "why_low": "low confidence",
    "managed": "managed by the console", "deleted": "Deleted.", "uploaded": "Ingested",
    "signed_out": "Signed out.", "csrf": "The form expired: reload the page and try again.",
    "tickets_open": "open tickets", "message": "Message", "id": "Id", "add": "Add",
}  # fmt: skip

ZH = {
    "title": "AskDesk 控制台", "signin": "登录", "signout": "退出", "admin_key": "管理员密钥",
    "your_name": "你的名字（用于修改记录）", "wrong_key": "管理员密钥不正确。",
    "demo_signin": "这是未设密钥的本地演示：无需密钥即可登录。",
    "dashboard": "概览", "conversations": "对话记录", "tickets": "工单", "hittest": "命中测试",
    "queue": "待整理问题", "knowledge": "知识库", "last_days": "最近 {n} 天",
    "questions": "提问数", "unanswered_rate": "未解答率", "thumbs": "点赞 / 点踩", "up_rate": "点赞占比",
    "p50": "p50 延迟", "p95": "p95 延迟", "per_day": "每日提问数（按回答方式）",
    "latency_over_time": "每日延迟（毫秒）", "mode_mix": "回答方式占比", "top_questions": "高频问题",
    "top_gaps": "知识缺口（知识库中没有）", "count": "次数", "no_data": "暂无数据。",
    "search": "搜索", "from": "从", "to": "到", "mode": "回答方式", "language": "语言", "feedback": "反馈",
    "band": "置信度", "any": "任意", "none": "无", "low": "低", "mid": "中", "high": "高",
    "filter": "筛选", "question": "问题", "rewritten": "改写后的查询", "answer": "回答",
    "hits": "命中", "confidence": "置信度", "backend": "后端", "latency": "延迟", "comment": "评论",
    "when": "时间", "next": "下一页", "prev": "上一页", "details": "详情", "status": "状态",
    "open": "待处理", "resolved": "已解决", "note": "备注", "save": "保存", "webhook": "Webhook",
    "not_sent": "未发送（未设置 webhook）", "transcript": "对话内容", "sources": "来源",
    "reason": "原因", "user": "用户", "reference": "编号", "all": "全部",
    "ask": "测试", "auto": "自动", "would_answer": "将以此方式回答", "suggestions": "推荐问题",
    "prompt": "最终 RAG 提示词", "prompt_not_rag": "这个问题不会交给大模型；以下是 RAG 回答时会发送的内容。", "score": "得分", "entry": "条目", "used": "已使用", "intent": "意图",
    "answerable": "预测可回答", "yes": "是", "no": "否",
    "add_related": "添加为相似问题，归入条目", "create_entry": "新建 FAQ 条目",
    "out_of_scope": "标记为超出范围", "members": "本组问题", "asked": "次",
    "queue_empty": "没有待整理的问题：所有问题都已有把握地回答。",
    "entry_key": "或条目编号", "category": "分类", "related": "相似问题（每行一个）",
    "create": "新建", "edit": "编辑", "delete": "删除", "curated": "人工整理的条目",
    "files": "文件", "upload": "上传", "entries": "条", "records": "向量", "history": "修改记录",
    "rollback": "回滚", "export": "导出人工条目（CSV）", "who": "修改人", "action": "操作",
    "before": "修改前", "after": "修改后", "browse": "浏览", "kind": "类型", "source": "来源",
    "overrides": "覆盖", "saved": "已保存，下一个问题即生效。", "saved_ticket": "已保存。", "copy_of_file": "来自 {source}：保存后由控制台副本回答此编号（文件本身不变）。", "more_groups": "组未显示", "new_entry": "新建 FAQ 条目",
    "why_no_answer": "知识库中没有", "why_down": "点踩", "why_low": "置信度低",
    "managed": "由控制台管理", "deleted": "已删除。", "uploaded": "已导入",
    "signed_out": "已退出。", "csrf": "表单已过期：请刷新页面后重试。",
    "tickets_open": "个待处理工单", "message": "消息", "id": "编号", "add": "添加",
}  # fmt: skip


def texts(lang: str) -> dict[str, str]:
    return EN if lang != "zh" else {**EN, **ZH}
