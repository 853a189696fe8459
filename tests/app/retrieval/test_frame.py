"""The frame-swap check (app/retrieval/frame.py) on real tokenisation."""

from app.retrieval.frame import frame_swap
from app.retrieval.text import tokenize

# three entries of a small KB: question, related questions, answer
KB = {
    "maternity": ("产假有多少天？", ["女员工生育假"], "上海员工产假为 158 天，深圳员工为 178 天。"),
    "carry": ("没休完的年假可以结转到明年吗？", ["年假过期"], "可以，每年最多结转 5 天未休年假。"),
    "balance": ("在哪里查看年假余额？", ["还剩几天年假"], "登录 PeoplePort 查看。"),
    "laptop": ("公司笔记本电脑丢了怎么办？", [], "立即报告 IT 服务台并挂失。"),
    "card": ("公司卡丢了怎么办？", [], "致电银行冻结，并通知财务。"),
    "mail": ("误删的邮件还能恢复吗？", ["邮件删除了"], "30 天内可以在已删除邮件中恢复。"),
}


def _df() -> dict[str, int]:
    df: dict[str, int] = {}
    for q, rel, _ in KB.values():
        for t in set(tokenize(q)).union(*(tokenize(r) for r in rel)):
            df[t] = df.get(t, 0) + 1
    return df


def swap(query: str, key: str, rivals: tuple[str, ...] | None = None):
    """frame_swap against entry `key`, the other entries (or `rivals`) being what retrieval found."""
    q, rel, a = KB[key]
    others = [k for k in KB if k != key] if rivals is None else rivals
    rival_terms = set().union(*(set(tokenize(KB[k][0])).union(*(tokenize(r) for r in KB[k][1])) for k in others))
    return frame_swap(tokenize(query), tokenize(q), set(tokenize("\n".join([q, *rel, a]))), _df(), rival_terms)


def test_another_entrys_topic_in_the_same_frame_is_a_swap():
    # jieba reads 年假有多少天 as 年 / 假 / 多少 / 天; 年 is a topic of the annual-leave entries
    assert swap("年假有多少天？", "maternity") == ("年", "产假")
    assert swap("年假有多少天", "maternity") == ("年", "产假")


def test_the_entrys_own_question_and_paraphrases_are_not():
    assert swap("产假有多少天？", "maternity") is None
    assert swap("產假有多少天", "maternity") is None  # Traditional script, same words
    assert swap("不小心把邮件删掉了还能恢复吗", "mail") is None  # a paraphrase, not a swap


def test_a_term_no_entry_is_about_is_not_a_swap():
    # 手机 is in no entry's question: nothing says the KB has a better entry (confidence decides)
    assert swap("公司手机丢了怎么办？", "laptop") is None


def test_a_different_frame_is_left_to_confidence():
    assert swap("年假", "maternity") is None


def test_the_other_topic_must_be_one_retrieval_found():
    # 年 is the annual-leave entries' topic; when retrieval found none of them, no swap is claimed
    assert swap("年假有多少天？", "maternity", rivals=("laptop", "card")) is None
    assert swap("年假有多少天？", "maternity", rivals=("balance",)) == ("年", "产假")
