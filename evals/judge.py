"""Optional LLM judge over any OpenAI-compatible endpoint (``--judge-url/--judge-model``)."""

from __future__ import annotations

from collections.abc import Callable

from app.errors import ConfigError
from evals.answers import JUDGE_PROMPT, parse_judgement


def make_judge(
    url: str, model: str, api_key: str = "EMPTY", timeout_s: float = 60.0
) -> Callable[[str, str, str], bool | None]:
    """A function (question, reference, answer) -> True/False, or None when the judge's reply is unclear
    or the call failed (such answers are left out of the judge's rate, and counted in the report's n)."""
    if not url or not model:
        raise ConfigError("the LLM judge needs both --judge-url and --judge-model")
    from openai import OpenAI, OpenAIError

    client = OpenAI(base_url=url, api_key=api_key or "EMPTY", timeout=timeout_s, max_retries=1)

    def judge(question: str, reference: str, answer: str) -> bool | None:
        try:
            r = client.chat.completions.create(
                model=model,
                temperature=0,
                max_tokens=8,
                messages=[
                    {
                        "role": "user",
                        "content": JUDGE_PROMPT.format(question=question, reference=reference, answer=answer),
                    }
                ],
                extra_body={"chat_template_kwargs": {"enable_thinking": False}},
            )
        except OpenAIError:
            return None
        return parse_judgement(r.choices[0].message.content or "")

    return judge
