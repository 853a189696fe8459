/*! AskDesk support widget: one script tag, no build step.
 *
 *   <script src="https://askdesk.example/widget.js" data-key="pk_…" async></script>
 *
 * data-* options: key (publishable widget key), api (default: this script's origin), title, greeting,
 * lang (auto | zh-Hans | zh-Hant | en), color (#rgb / #rrggbb), position (bottom-right | bottom-left),
 * suggestions / suggestions-zh / suggestions-en ("first | second"), open ("true"), question (pre-filled),
 * user-token (identity token signed by the host site's server; verified by AskDesk, never trusted as is).
 * JS API: AskDesk.open() · close() · ask(text) · setUser(token) · destroy().
 *
 * Everything that comes from the service (answers, titles, snippets) is put into the page with
 * createElement / textContent only: HTML in the knowledge base is shown as text and never runs.
 */
(() => {
  "use strict";
  if (window.AskDesk) return; // loaded twice: keep the first

  const script = document.currentScript || document.querySelector('script[src*="widget.js"][data-key]');
  const ds = (script && script.dataset) || {};
  const scriptOrigin = script && script.src ? new URL(script.src, location.href).origin : location.origin;

  const STRINGS = {
    en: {
      title: "AskDesk Support", open: "Open support chat", close: "Close support chat",
      reset: "Start a new conversation", greeting: "Hi! Ask me about IT, HR, travel or office questions.",
      placeholder: "Type your question…", input: "Your question", send: "Send", suggested: "Suggested questions",
      sources: "Sources", source: "Source", page: (n) => `p. ${n}`, typing: "Looking that up…",
      helpful: "Helpful", unhelpful: "Not helpful", thanks: "Thanks for your feedback.",
      comment: "What was missing? (optional)", sendFeedback: "Send feedback", handoff: "Talk to a person",
      handoffBusy: "Contacting the service desk…", handoffDone: "Your question was passed to the service desk. Reference:",
      ticket: "Open the ticket", you: "You", bot: "AskDesk", didYouMean: "Did you mean:",
      handoffAsk: "I want to talk to a person",
      errUnreachable: "AskDesk can't be reached right now. Check your connection and try again in a moment.",
      errRate: "Too many questions in a short time. Please wait a moment and try again.",
      errOrigin: "This page isn't allowed to use AskDesk. Ask your intranet team to add it to the widget's allowed sites.",
      errKey: "This support widget isn't set up correctly (unknown widget key).",
      errIdentity: "Your sign-in has expired. Reload the page and try again.",
      errServer: "Something went wrong on our side. Please try again.",
      errCut: "The answer was interrupted. Please try again.",
    },
    "zh-Hans": {
      title: "AskDesk 支持", open: "打开支持对话", close: "关闭支持对话", reset: "开始新对话",
      greeting: "你好！可以问我 IT、人事、差旅或办公相关的问题。", placeholder: "输入你的问题…", input: "你的问题",
      send: "发送", suggested: "推荐问题", sources: "参考来源", source: "来源", page: (n) => `第 ${n} 页`,
      typing: "正在查找…", helpful: "有帮助", unhelpful: "没帮助", thanks: "感谢你的反馈。",
      comment: "哪里不够好？（选填）", sendFeedback: "提交反馈", handoff: "转人工",
      handoffBusy: "正在联系服务台…", handoffDone: "你的问题已转给服务台。工单编号：", ticket: "查看工单",
      you: "你", bot: "AskDesk", didYouMean: "你是不是想问：", handoffAsk: "我想转人工",
      errUnreachable: "暂时无法连接 AskDesk，请检查网络后稍后再试。",
      errRate: "提问太频繁了，请稍等片刻再试。",
      errOrigin: "此页面未被允许使用 AskDesk，请联系内网管理员把它加入允许的网站。",
      errKey: "支持小组件配置有误（未知的组件密钥）。",
      errIdentity: "登录状态已过期，请刷新页面后重试。",
      errServer: "服务出现问题，请稍后再试。",
      errCut: "回答中断了，请重试。",
    },
    "zh-Hant": {
      title: "AskDesk 支援", open: "開啟支援對話", close: "關閉支援對話", reset: "開始新對話",
      greeting: "你好！可以問我 IT、人事、差旅或辦公相關的問題。", placeholder: "輸入你的問題…", input: "你的問題",
      send: "傳送", suggested: "推薦問題", sources: "參考來源", source: "來源", page: (n) => `第 ${n} 頁`,
      typing: "正在查找…", helpful: "有幫助", unhelpful: "沒幫助", thanks: "感謝你的回饋。",
      comment: "哪裡不夠好？（選填）", sendFeedback: "送出回饋", handoff: "轉真人客服",
      handoffBusy: "正在聯絡服務台…", handoffDone: "你的問題已轉給服務台。工單編號：", ticket: "查看工單",
      you: "你", bot: "AskDesk", didYouMean: "你是不是想問：", handoffAsk: "我想轉真人客服",
      errUnreachable: "暫時無法連線 AskDesk，請檢查網路後稍後再試。",
      errRate: "提問太頻繁了，請稍候片刻再試。",
      errOrigin: "此頁面未獲准使用 AskDesk，請聯絡內網管理員把它加入允許的網站。",
      errKey: "支援小工具設定有誤（未知的元件金鑰）。",
      errIdentity: "登入狀態已過期，請重新整理頁面後再試。",
      errServer: "服務發生問題，請稍後再試。",
      errCut: "回答中斷了，請重試。",
    },
  };

  function resolveLang(wanted) {
    const tag = (wanted && wanted !== "auto" ? wanted : document.documentElement.lang || navigator.language || "en");
    const t = tag.toLowerCase();
    if (!t.startsWith("zh")) return "en";
    return /hant|-tw|-hk|-mo/.test(t) ? "zh-Hant" : "zh-Hans";
  }

  const list = (v) => (v || "").split("|").map((s) => s.trim()).filter(Boolean);
  const lang = resolveLang(ds.lang);
  const T = STRINGS[lang];
  const cfg = {
    api: (ds.api || scriptOrigin).replace(/\/+$/, ""),
    key: ds.key || "",
    title: ds.title || T.title,
    greeting: ds.greeting || T.greeting,
    color: /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(ds.color || "") ? ds.color : "#0b5cad",
    position: ds.position === "bottom-left" ? "bottom-left" : "bottom-right",
    suggestions: list((lang === "en" ? ds.suggestionsEn : ds.suggestionsZh) || ds.suggestions),
    openOnLoad: ds.open === "true" || ds.open === "",
    question: ds.question || "",
  };
  let userToken = ds.userToken || null;

  // --- storage: visitor id (localStorage, for per-visitor rate limits) and the conversation (this tab)
  const store = (area) => {
    try { return window[area]; } catch { return null; } // storage can be blocked by browser settings
  };
  function randomId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function visitorId() {
    const ls = store("localStorage");
    try {
      let v = ls && ls.getItem("askdesk:visitor");
      if (!v) { v = randomId(); ls && ls.setItem("askdesk:visitor", v); }
      return v;
    } catch { return randomId(); }
  }
  const VISITOR = visitorId();
  const CONV_KEY = "askdesk:conversation:" + cfg.api;
  const MAX_KEPT = 60;
  let conv = { session_id: null, messages: [], open: false };
  try {
    const saved = JSON.parse((store("sessionStorage") || {}).getItem?.(CONV_KEY) || "null");
    if (saved && Array.isArray(saved.messages)) conv = saved;
  } catch { /* a corrupt entry starts a fresh conversation */ }
  const elOf = new WeakMap(); // message record -> its element in the log
  function save() {
    conv.messages = conv.messages.slice(-MAX_KEPT);
    try { store("sessionStorage")?.setItem(CONV_KEY, JSON.stringify(conv)); } catch { /* full or blocked */ }
  }

  // --- colours: text on the theme colour is black or white, whichever contrasts more (WCAG)
  function luminance(hex) {
    let h = hex.slice(1);
    if (h.length === 3) h = h.replace(/./g, "$&$&");
    const c = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16) / 255)
      .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  const L = luminance(cfg.color);
  const onColor = (1.05 / (L + 0.05)) >= ((L + 0.05) / 0.05) ? "#ffffff" : "#111111";
  // on white the theme colour is used for links only when it is dark enough; otherwise a safe blue
  const linkColor = 1.05 / (L + 0.05) >= 4.5 ? cfg.color : "#0a58a8";

  const CSS = `
:host{all:initial!important;display:block!important;position:static!important;visibility:visible!important}
*{box-sizing:border-box}
.root{--c:${cfg.color};--on:${onColor};--link:${linkColor};font:14px/1.5 system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;color:#1f2328;text-align:left;letter-spacing:normal;text-transform:none}
.launcher{position:fixed;bottom:20px;z-index:2147483000;display:flex;align-items:center;gap:8px;height:52px;padding:0 18px 0 14px;border:0;border-radius:26px;background:var(--c);color:var(--on);font-weight:600;font-size:15px;line-height:1;font-family:inherit;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25)}
.launcher svg{width:24px;height:24px;fill:currentColor}
.right .launcher,.right .panel{right:20px}.left .launcher,.left .panel{left:20px}
button:focus-visible,a:focus-visible,textarea:focus-visible,summary:focus-visible,input:focus-visible{outline:3px solid #1f6feb;outline-offset:2px}
.panel{position:fixed;bottom:84px;z-index:2147483001;width:380px;max-width:calc(100vw - 40px);height:600px;max-height:calc(100vh - 104px);display:flex;flex-direction:column;background:#fff;border:1px solid #d0d7de;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.28);overflow:hidden}
.panel[hidden]{display:none}
header{display:flex;align-items:center;gap:6px;padding:10px 10px 10px 16px;background:var(--c);color:var(--on)}
h2{flex:1;margin:0;font-weight:600;font-size:16px;line-height:1.3;font-family:inherit;color:inherit}
.icon{width:34px;height:34px;display:grid;place-items:center;border:0;border-radius:8px;background:transparent;color:inherit;font-size:20px;line-height:1;font-family:inherit;cursor:pointer}
.icon:hover{background:rgba(127,127,127,.25)}
.icon svg{width:20px;height:20px;fill:currentColor}
.log{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px;background:#fff}
.msg{max-width:88%;padding:9px 12px;border-radius:12px;word-wrap:break-word;overflow-wrap:anywhere}
.user{align-self:flex-end;background:var(--c);color:var(--on);white-space:pre-wrap;border-bottom-right-radius:4px}
.bot{align-self:flex-start;background:#f3f4f6;color:#1f2328;border-bottom-left-radius:4px}
.bot.error{background:#fff1e5;color:#6b2a00;border:1px solid #f0b37e}
.text p{margin:0 0 8px}.text p:last-child{margin-bottom:0}
.text ul,.text ol{margin:0 0 8px;padding-left:20px}
.text blockquote{margin:0 0 8px;padding:6px 10px;border-left:3px solid #8c959f;background:#ffffff;color:#24292f;border-radius:0 6px 6px 0}
.text blockquote:last-child{margin-bottom:0}
.text code{font:13px/1.4 ui-monospace,SFMono-Regular,Consolas,monospace;background:#e6e8eb;padding:1px 4px;border-radius:4px}
.typing{color:#57606a;font-style:italic}
a{color:var(--link)}.user a{color:inherit}
.cite{font-size:12px;font-weight:600;text-decoration:none;padding:0 1px;vertical-align:super;line-height:0}
.sources{margin-top:8px;padding-top:6px;border-top:1px solid #d0d7de;font-size:13px}
.sources h3{margin:0 0 4px;font-weight:600;font-size:12px;line-height:1.4;font-family:inherit;color:#57606a;text-transform:uppercase;letter-spacing:.04em}
.sources ol{margin:0;padding-left:22px}
.sources li{margin:2px 0;border-radius:4px}
.sources li.flash{background:#fff8c5}
summary{cursor:pointer;color:#1f2328}
.sec{color:#57606a}
.snippet{margin:4px 0 6px;padding:6px 8px;background:#fff;border-left:3px solid var(--c);color:#1f2328;white-space:pre-wrap}
.actions{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin-top:8px}
.chip{border:1px solid #8c959f;background:#fff;color:#1f2328;border-radius:16px;padding:4px 10px;font-size:13px;line-height:1.3;font-family:inherit;cursor:pointer}
.chip:hover{background:#eaeef2}.chip[aria-pressed=true]{background:var(--c);color:var(--on);border-color:var(--c)}
.chip:disabled{cursor:default}.chip svg{width:16px;height:16px;fill:currentColor;vertical-align:-3px}
.note{color:#57606a;font-size:13px}
.fbform{display:flex;gap:6px;width:100%}
.fbform input{flex:1;min-width:0;border:1px solid #8c959f;border-radius:6px;padding:4px 8px;font-size:13px;font-family:inherit;color:#1f2328;background:#fff}
.ref{margin-top:8px;padding:8px 10px;background:#ddf4ff;border:1px solid #54aeff;border-radius:8px;color:#0a3069}
.ref strong{font-family:ui-monospace,Consolas,monospace;white-space:nowrap}
.ref:focus{outline:3px solid #1f6feb;outline-offset:2px}
.msg.ticket-only{padding:0;background:transparent}.ticket-only .ref{margin-top:0}
.dym{margin-top:8px}
.dym p{margin:0 0 4px;color:#57606a;font-size:12px}
.dym-list{display:flex;flex-wrap:wrap;gap:6px}
.dym .chip{max-width:100%;text-align:left;overflow-wrap:anywhere}
.bar{display:flex;justify-content:flex-end;padding:4px 10px 0;border-top:1px solid #d0d7de;background:#fff}
.bar+form{border-top:0;padding-top:4px}
.person{display:inline-flex;align-items:center;gap:4px;border:0;border-radius:6px;background:transparent;color:var(--link);padding:3px 6px;font-size:13px;line-height:1.3;font-family:inherit;cursor:pointer;text-decoration:underline;text-underline-offset:2px}
.person:hover{background:#eaeef2}.person:disabled{color:#57606a;text-decoration:none;cursor:default}
.person svg{width:16px;height:16px;fill:currentColor;flex:none}
.suggest{padding:0 14px 10px;display:flex;flex-wrap:wrap;gap:6px}
.suggest[hidden]{display:none}
.suggest p{width:100%;margin:0;color:#57606a;font-size:12px}
form{display:flex;gap:8px;padding:10px;border-top:1px solid #d0d7de;background:#fff}
textarea{flex:1;resize:none;height:42px;max-height:120px;border:1px solid #8c959f;border-radius:8px;padding:9px 10px;font-size:14px;line-height:1.4;font-family:inherit;color:#1f2328;background:#fff}
.send{border:0;border-radius:8px;padding:0 16px;background:var(--c);color:var(--on);font-weight:600;font-size:14px;line-height:1;font-family:inherit;cursor:pointer}
.send:disabled{opacity:.6;cursor:default}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:479.98px){
.panel{inset:0!important;width:100%;max-width:none;height:100%;max-height:none;border-radius:0;border:0}
.open .launcher{display:none}
}
@media (prefers-reduced-motion:no-preference){.launcher{transition:transform .15s}.launcher:hover{transform:translateY(-2px)}}
`;

  // --- DOM helpers: createElement + textContent only
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat()) if (kid != null && kid !== false) el.append(kid); // strings become text nodes
    return el;
  }
  function icon(d) {
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(NS, "path");
    path.setAttribute("d", d);
    svg.append(path);
    return svg;
  }
  const ICON_CHAT = "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6v2h2V9H7zm4 0v2h2V9h-2zm4 0v2h2V9h-2z";
  const ICON_CLOSE = "M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7 2.9 18.3 9.2 12 2.9 5.7 4.3 4.3l6.3 6.3 6.3-6.3z";
  const ICON_UP = "M1 21h4V9H1v12zm22-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.5-1.1L14.2 1 7.6 7.6C7.2 8 7 8.5 7 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z";
  const ICON_DOWN = "M15 3H6c-.8 0-1.5.5-1.8 1.2l-3 7.1c-.1.2-.2.5-.2.7v2a2 2 0 0 0 2 2h6.3l-1 4.6v.3c0 .4.2.8.5 1.1l1 1 6.6-6.6c.4-.4.6-.9.6-1.4V5a2 2 0 0 0-2-2zm4 0v12h4V3h-4z";
  const ICON_PERSON = "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm0 2c-3.3 0-8 1.7-8 5v1h16v-1c0-3.3-4.7-5-8-5z";
  const ICON_RESET = "M12 5V1L7 6l5 5V7a5 5 0 1 1-5 5H5a7 7 0 1 0 7-7z";

  // --- light Markdown: paragraphs, line breaks, - / 1. lists, **bold**, `code`, [n] citations
  function inline(parent, text, cite) {
    const re = /`([^`\n]+)`|\*\*([^*\n]+)\*\*|\[(\d{1,2})\]/g;
    let last = 0, m;
    while ((m = re.exec(text))) {
      if (m.index > last) parent.append(text.slice(last, m.index));
      if (m[1] != null) parent.append(h("code", null, m[1]));
      else if (m[2] != null) parent.append(h("strong", null, m[2]));
      else parent.append(cite(Number(m[3])) || m[0]);
      last = re.lastIndex;
    }
    if (last < text.length) parent.append(text.slice(last));
  }
  function markdown(text, cite) {
    const frag = document.createDocumentFragment();
    const blocks = String(text).replace(/\r\n?/g, "\n").split(/\n{2,}/);
    for (const block of blocks) {
      const lines = block.split("\n").filter((l) => l.trim() !== "");
      if (!lines.length) continue;
      const bullet = /^\s*[-*•]\s+/, numbered = /^\s*\d+[.)、]\s+/, quote = /^\s*>\s?/;
      let i = 0;
      while (i < lines.length) {
        const kind = bullet.test(lines[i]) ? "ul" : numbered.test(lines[i]) ? "ol" : null;
        if (quote.test(lines[i])) {
          // an extractive answer quotes the knowledge base verbatim: shown as a quote
          const q = h("blockquote");
          let first = true;
          while (i < lines.length && quote.test(lines[i])) {
            if (!first) q.append(h("br"));
            inline(q, lines[i].replace(quote, ""), cite);
            first = false;
            i++;
          }
          frag.append(q);
        } else if (kind) {
          const listEl = h(kind);
          const pat = kind === "ul" ? bullet : numbered;
          while (i < lines.length && pat.test(lines[i])) {
            const li = h("li");
            inline(li, lines[i].replace(pat, "").replace(/^#+\s*/, ""), cite);
            listEl.append(li);
            i++;
          }
          frag.append(listEl);
        } else {
          const p = h("p");
          let first = true;
          while (i < lines.length && !bullet.test(lines[i]) && !numbered.test(lines[i]) && !quote.test(lines[i])) {
            if (!first) p.append(h("br"));
            inline(p, lines[i].replace(/^#{1,6}\s+/, ""), cite);
            first = false;
            i++;
          }
          frag.append(p);
        }
      }
    }
    return frag;
  }

  // --- the widget
  let host, shadow, root, launcher, panel, log, form, input, sendBtn, suggest, personBtn;
  let busy = false;
  let handoffPending = false; // a ticket is being opened from the "talk to a person" action
  let inflight = null; // AbortController of the running request
  let lastFocus = null;
  let queued = null;

  function mount() {
    host = h("div", { "data-askdesk": "" });
    shadow = host.attachShadow({ mode: "open" });
    shadow.append(h("style", null, CSS));
    root = h("div", { class: `root ${cfg.position === "bottom-left" ? "left" : "right"}`, lang });
    launcher = h("button", { type: "button", class: "launcher", "aria-label": T.open, "aria-expanded": "false",
      "aria-controls": "askdesk-panel", "aria-haspopup": "dialog", onclick: () => (isOpen() ? close() : open()) },
      icon(ICON_CHAT), h("span", null, cfg.title));
    const titleId = "askdesk-title";
    log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": cfg.title, tabindex: "0" });
    suggest = h("div", { class: "suggest" });
    input = h("textarea", { rows: "1", "aria-label": T.input, placeholder: T.placeholder, maxlength: "4000",
      onkeydown: (e) => { if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); } } });
    input.value = cfg.question;
    sendBtn = h("button", { type: "submit", class: "send" }, T.send);
    form = h("form", { onsubmit: (e) => { e.preventDefault(); submit(); } }, input, sendBtn);
    // "talk to a person", always there: opens a ticket for this conversation
    personBtn = h("button", { type: "button", class: "person" }, icon(ICON_PERSON), h("span", null, T.handoff));
    personBtn.addEventListener("click", talkToPerson);
    panel = h("div", { class: "panel", id: "askdesk-panel", role: "dialog", "aria-modal": "true", "aria-labelledby": titleId,
      hidden: true, onkeydown: onPanelKey },
      h("header", null, h("h2", { id: titleId }, cfg.title),
        h("button", { type: "button", class: "icon", "aria-label": T.reset, title: T.reset, onclick: reset }, icon(ICON_RESET)),
        h("button", { type: "button", class: "icon close", "aria-label": T.close, title: T.close, onclick: () => close() }, icon(ICON_CLOSE))),
      log, suggest, h("div", { class: "bar" }, personBtn), form);
    root.append(panel, launcher);
    shadow.append(root);
    document.body.append(host);
    renderAll();
    if (cfg.openOnLoad || conv.open) open({ focus: false }); // never steal focus from the page on load
    if (queued) ask(queued);
  }

  const isOpen = () => panel && !panel.hidden;

  function open({ focus = true } = {}) {
    if (!panel) return;
    if (!isOpen()) lastFocus = document.activeElement;
    panel.hidden = false;
    root.classList.add("open");
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", T.close);
    conv.open = true;
    save();
    log.scrollTop = log.scrollHeight;
    if (focus) input.focus();
  }

  function close() {
    if (!panel || !isOpen()) return;
    panel.hidden = true;
    root.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", T.open);
    conv.open = false;
    save();
    launcher.focus();
  }

  function focusables() {
    return Array.from(panel.querySelectorAll("button,a[href],textarea,input,summary,[tabindex]"))
      .filter((el) => !el.disabled && el.tabIndex >= 0 && el.getClientRects().length && !el.closest("[hidden]"));
  }

  function onPanelKey(e) {
    if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); close(); return; }
    if (e.key !== "Tab") return;
    const items = focusables();
    if (!items.length) return;
    const first = items[0], last = items[items.length - 1], active = shadow.activeElement;
    if (e.shiftKey && (active === first || !panel.contains(active))) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && (active === last || !panel.contains(active))) { e.preventDefault(); first.focus(); }
  }

  function renderAll() {
    log.replaceChildren(h("div", { class: "msg bot greeting" }, h("div", { class: "text" }, markdown(cfg.greeting, () => null))));
    for (const m of conv.messages) log.append(renderMessage(m));
    renderSuggestions();
  }

  function renderSuggestions() {
    suggest.replaceChildren();
    suggest.hidden = conv.messages.length > 0 || !cfg.suggestions.length;
    if (suggest.hidden) return;
    suggest.append(h("p", { id: "askdesk-sugg" }, T.suggested));
    for (const q of cfg.suggestions) suggest.append(h("button", { type: "button", class: "chip", onclick: () => ask(q) }, q));
  }

  function renderMessage(m) {
    if (m.pending && !busy) Object.assign(m, { pending: false, error: true, text: T.errCut }); // the page left mid-answer
    if (m.role === "user") return h("div", { class: "msg user" }, h("span", { class: "sr" }, T.you + ": "), m.text);
    const el = h("div", { class: "msg bot" });
    elOf.set(m, el);
    fillBot(el, m);
    return el;
  }

  // (re)draws a bot message from its record: text, sources, feedback, handoff
  const QUIET = new Set(["no_answer", "chitchat", "handoff"]); // modes shown without sources

  function fillBot(el, m) {
    const sources = QUIET.has(m.mode) ? [] : m.sources || [];
    const uid = (m.message_id || randomId()).replace(/[^A-Za-z0-9_-]/g, "");
    const items = new Map();
    const cite = (n) => {
      const s = sources.find((x) => x.n === n);
      if (!s) return null;
      return h("a", { class: "cite", href: `#askdesk-src-${uid}-${n}`, "aria-label": `${T.source} ${n}: ${s.title}`,
        onclick: (e) => { e.preventDefault(); showSource(items.get(n)); } }, `[${n}]`);
    };
    const parts = [h("span", { class: "sr" }, T.bot + ": ")];
    if (m.pending && !m.text) parts.push(h("div", { class: "typing" }, T.typing));
    if (m.text || !m.ticket) { // a ticket opened from the "talk to a person" action has no text of its own
      const text = h("div", { class: "text" });
      text.append(markdown(m.text || "", cite));
      parts.push(text);
    }
    if (sources.length && !m.pending) {
      const ol = h("ol");
      for (const s of sources) {
        const label = [s.section && s.section !== s.title ? s.section : "", s.page ? T.page(s.page) : ""].filter(Boolean).join(" · ");
        const li = h("li", { id: `askdesk-src-${uid}-${s.n}`, value: String(s.n), tabindex: "-1" },
          h("details", null, h("summary", null, s.title || s.source, label ? h("span", { class: "sec" }, " — " + label) : null),
            h("div", { class: "snippet" }, s.snippet || "")));
        items.set(s.n, li);
        ol.append(li);
      }
      parts.push(h("div", { class: "sources" }, h("h3", null, T.sources), ol));
    }
    if (!m.pending && m.suggestions && m.suggestions.length) parts.push(didYouMean(m.suggestions, uid));
    if (!m.pending) parts.push(actions(m));
    el.replaceChildren(...parts);
    el.classList.toggle("error", !!m.error);
    el.classList.toggle("ticket-only", !m.text && !!m.ticket);
    el.setAttribute("aria-busy", m.pending ? "true" : "false");
  }

  // "did you mean": each entry is a button that asks its question in this conversation
  function didYouMean(suggestions, uid) {
    const id = `askdesk-dym-${uid}`;
    return h("div", { class: "dym", role: "group", "aria-labelledby": id }, h("p", { id }, T.didYouMean),
      h("div", { class: "dym-list" }, suggestions.map((s) =>
        h("button", { type: "button", class: "chip dym-chip", onclick: () => ask(s.question) }, s.question))));
  }

  function showSource(li) {
    if (!li) return;
    const d = li.querySelector("details");
    if (d) d.open = true;
    li.scrollIntoView({ block: "nearest" });
    li.classList.add("flash");
    setTimeout(() => li.classList.remove("flash"), 1200);
    li.focus();
  }

  function actions(m) {
    const box = h("div", { class: "actions" });
    if (m.message_id && !m.error && m.mode !== "chitchat" && m.mode !== "handoff") {
      if (m.feedback) box.append(h("span", { class: "note", role: "status" }, T.thanks));
      else {
        // icons, not emoji: intranet PCs often have no colour-emoji font
        const up = h("button", { type: "button", class: "chip fb-up", "aria-label": T.helpful, title: T.helpful }, icon(ICON_UP));
        const down = h("button", { type: "button", class: "chip fb-down", "aria-label": T.unhelpful, title: T.unhelpful }, icon(ICON_DOWN));
        up.addEventListener("click", () => feedback(m, "up", null));
        down.addEventListener("click", () => {
          down.setAttribute("aria-pressed", "true");
          up.setAttribute("aria-pressed", "false");
          up.disabled = down.disabled = true;
          const c = h("input", { type: "text", class: "fb-comment", "aria-label": T.comment, placeholder: T.comment, maxlength: "2000" });
          box.append(h("form", { class: "fbform", onsubmit: (e) => { e.preventDefault(); feedback(m, "down", c.value.trim() || null); } },
            c, h("button", { type: "submit", class: "chip fb-send" }, T.sendFeedback)));
          c.focus();
        });
        box.append(up, down);
      }
    }
    if (m.handoff && !m.ticket) {
      box.append(h("button", { type: "button", class: "chip handoff", onclick: (e) => requestHandoff(m, e.currentTarget) }, T.handoff));
    }
    const wrap = h("div", null, box.childNodes.length ? box : null);
    if (m.ticket) {
      const t = m.ticket;
      const safeUrl = /^https?:\/\//i.test(t.ticket_url || "") ? t.ticket_url : null;
      const contact = t.contact && !(m.text || "").includes(t.contact) ? t.contact : null; // said once is enough
      wrap.append(h("div", { class: "ref", role: "status", tabindex: "-1" }, T.handoffDone + " ",
        h("strong", { class: "reference" }, t.reference || "—"),
        contact ? h("div", null, contact) : null,
        safeUrl ? h("div", null, h("a", { href: safeUrl, target: "_blank", rel: "noopener noreferrer" }, T.ticket)) : null));
    }
    return box.childNodes.length || m.ticket ? wrap : "";
  }

  // --- HTTP
  function headers() {
    return { "Content-Type": "application/json", "X-AskDesk-Widget-Key": cfg.key, "X-AskDesk-Visitor": VISITOR };
  }

  class WidgetError extends Error {
    constructor(kind, detail, status) { super(detail || kind); this.kind = kind; this.status = status; }
  }

  // a cross-origin refusal and a dead server look the same to fetch (TypeError); a no-cors probe of
  // /health tells them apart: it resolves when the server is up (the browser then blocked our origin)
  async function classifyNetworkError() {
    try {
      await fetch(cfg.api + "/health", { mode: "no-cors", cache: "no-store" });
      return new WidgetError("origin");
    } catch {
      return new WidgetError("unreachable");
    }
  }

  async function post(path, body, signal) {
    let res;
    try {
      res = await fetch(cfg.api + path, { method: "POST", headers: headers(), body: JSON.stringify(body), signal, credentials: "omit" });
    } catch (e) {
      if (e && e.name === "AbortError") throw e;
      throw await classifyNetworkError();
    }
    if (!res.ok) {
      let err = {};
      try { err = (await res.json()).error || {}; } catch { /* not JSON */ }
      const kind = res.status === 429 ? "rate" : res.status === 403 ? "origin"
        : err.code === "invalid_identity_token" ? "identity" : res.status === 401 ? "key" : "server";
      throw new WidgetError(kind, err.message, res.status);
    }
    return res;
  }

  const ERR_TEXT = { rate: "errRate", origin: "errOrigin", identity: "errIdentity", key: "errKey", unreachable: "errUnreachable", server: "errServer", cut: "errCut" };

  // reads an SSE body: blocks separated by a blank line, each with `event:` and `data:` lines
  async function readSSE(res, onEvent) {
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      buf += done ? dec.decode() : dec.decode(value, { stream: true });
      const blocks = buf.split(/\r?\n\r?\n/);
      buf = done ? "" : blocks.pop();
      for (const block of blocks) {
        let event = "message";
        const data = [];
        for (const line of block.split(/\r?\n/)) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (!data.length) continue;
        let payload;
        try { payload = JSON.parse(data.join("\n")); } catch { continue; }
        onEvent(event, payload);
      }
      if (done) return;
    }
  }

  function submit() {
    const text = input.value.trim();
    if (text && !busy) { input.value = ""; ask(text); }
  }

  // focusTicket: when the answer carries a ticket reference, move focus to it (the user asked for a
  // person through the "talk to a person" action, not by typing)
  async function ask(text, { focusTicket = false } = {}) {
    text = String(text || "").trim().slice(0, 4000);
    if (!text) return;
    if (!panel) { queued = text; return; } // called before the page finished loading
    if (busy) return;
    open();
    busy = true;
    sendBtn.disabled = true;
    syncBar();
    const um = { role: "user", text };
    conv.messages.push(um);
    log.append(renderMessage(um));
    renderSuggestions();
    const m = { role: "bot", text: "", pending: true };
    conv.messages.push(m);
    const el = renderMessage(m);
    log.append(el);
    log.scrollTop = log.scrollHeight;
    save();
    const tokenText = h("div", { class: "text" });
    let streamedTokens = false;
    const ctrl = (inflight = new AbortController());
    try {
      const res = await post("/api/chat", { session_id: conv.session_id || undefined, message: text, stream: true,
        user_token: userToken || undefined }, ctrl.signal);
      let finished = false;
      await readSSE(res, (event, d) => {
        if (event === "sources") {
          if (d.session_id) conv.session_id = d.session_id;
          syncBar();
          m.message_id = d.message_id;
          m.mode = d.mode;
          m.sources = d.sources;
        } else if (event === "token") {
          m.text += d.text || "";
          if (!streamedTokens) { // swap the "looking that up" line for the growing answer
            streamedTokens = true;
            el.replaceChildren(h("span", { class: "sr" }, T.bot + ": "), tokenText);
          }
          tokenText.replaceChildren(markdown(m.text, () => null));
          const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
          if (nearBottom) log.scrollTop = log.scrollHeight;
        } else if (event === "done") {
          finished = true;
          conv.session_id = d.session_id || conv.session_id;
          Object.assign(m, { text: d.answer, mode: d.mode, sources: trimSources(d.sources), message_id: d.message_id,
            handoff: d.handoff || null, suggestions: trimSuggestions(d.suggestions), pending: false });
          // mode "handoff": the service opened the ticket already; an offer has no reference yet
          if (d.handoff && d.handoff.reference) m.ticket = ticketOf(d.handoff);
        } else if (event === "error") {
          finished = true;
          conv.session_id = d.session_id || conv.session_id;
          Object.assign(m, { text: d.code === "llm_unavailable" && d.message ? d.message : T.errServer, error: true,
            message_id: d.message_id, sources: [], handoff: d.handoff || null, pending: false });
        }
      });
      if (!finished) throw new WidgetError("cut");
    } catch (e) {
      if (e && e.name === "AbortError") return;
      Object.assign(m, { text: T[ERR_TEXT[e.kind] || "errServer"], error: true, errorKind: e.kind || "server", pending: false, sources: [] });
    } finally {
      if (inflight === ctrl) inflight = null;
      busy = false;
      if (sendBtn) sendBtn.disabled = false;
      syncBar();
    }
    m.pending = false;
    save();
    fillBot(el, m);
    log.scrollTop = log.scrollHeight;
    if (m.ticket) revealTicket(m, focusTicket);
  }

  function trimSuggestions(list) {
    return (Array.isArray(list) ? list : []).filter((s) => s && typeof s.question === "string" && s.question.trim())
      .slice(0, 5).map((s) => ({ id: s.id, kind: s.kind, question: s.question.trim().slice(0, 300) }));
  }

  function ticketOf(t) {
    return { reference: t.reference, ticket_url: t.ticket_url || null, contact: t.contact || "" };
  }

  // scrolls the log so a message's ticket reference is in view; focus moves there when asked
  function revealTicket(m, focus) {
    const el = elOf.get(m);
    const ref = el && el.querySelector(".ref");
    if (!ref || !log) return;
    const r = ref.getBoundingClientRect(), l = log.getBoundingClientRect();
    if (r.bottom > l.bottom) log.scrollTop += r.bottom - l.bottom + 14;
    else if (r.top < l.top) log.scrollTop -= l.top - r.top + 14;
    if (focus) ref.focus({ preventScroll: true });
  }

  function syncBar() {
    if (!personBtn) return;
    // with no session yet, the action asks through the chat, which waits for the answer in flight
    personBtn.disabled = handoffPending || (busy && !conv.session_id);
    personBtn.lastChild.textContent = handoffPending ? T.handoffBusy : T.handoff;
  }

  // the always-there "talk to a person" action
  async function talkToPerson() {
    if (handoffPending) return;
    const msgs = conv.messages;
    const lastUser = msgs.map((x) => x.role).lastIndexOf("user");
    let lastTicket = -1;
    msgs.forEach((x, i) => { if (x.ticket) lastTicket = i; });
    if (lastTicket >= 0 && lastTicket > lastUser) { revealTicket(msgs[lastTicket], true); return; } // nothing new since
    if (!conv.session_id) { ask(T.handoffAsk, { focusTicket: true }); return; } // the service opens the ticket
    const last = msgs[msgs.length - 1];
    if (last && last.role === "bot" && last.handoff && !last.ticket && last.message_id && !last.pending) {
      const el = elOf.get(last);
      requestHandoff(last, el && el.querySelector("button.handoff")); // the offer on screen turns into the reference
      return;
    }
    const about = [...msgs].reverse().find((x) => x.role === "bot" && x.message_id && !x.pending); // its sources and language
    const mine = conv;
    handoffPending = true;
    syncBar();
    try {
      const res = await post("/api/handoff", { session_id: conv.session_id, message_id: about ? about.message_id : undefined,
        user_token: userToken || undefined });
      const t = await res.json();
      if (conv !== mine || !panel) return; // the conversation was reset meanwhile
      const m = { role: "bot", text: "", pending: false, ticket: ticketOf(t) };
      conv.messages.push(m);
      save();
      log.append(renderMessage(m));
      revealTicket(m, true);
    } catch (e) {
      if (conv !== mine || !panel) return;
      if (e.status === 404) { // the service no longer knows this session: ask in a new one
        conv.session_id = null;
        save();
        handoffPending = false;
        ask(T.handoffAsk, { focusTicket: true });
        return;
      }
      notice(T[ERR_TEXT[e.kind] || "errServer"]);
    } finally {
      if (conv === mine) { handoffPending = false; syncBar(); } // a reset cleared it already
    }
  }

  function trimSources(sources) {
    return (sources || []).map((s) => ({ n: s.n, title: s.title, section: s.section, page: s.page, source: s.source,
      snippet: String(s.snippet || "").slice(0, 600) }));
  }

  function rerender(m) {
    save();
    const el = elOf.get(m);
    if (el) fillBot(el, m);
  }

  async function feedback(m, rating, comment) {
    try {
      await post("/api/feedback", comment ? { message_id: m.message_id, rating, comment } : { message_id: m.message_id, rating });
      m.feedback = rating;
      rerender(m);
    } catch (e) {
      notice(T[ERR_TEXT[e.kind] || "errServer"]);
    }
  }

  async function requestHandoff(m, button) {
    if (handoffPending) return;
    const mine = conv;
    handoffPending = true;
    syncBar();
    if (button) { button.disabled = true; button.textContent = T.handoffBusy; }
    try {
      const res = await post("/api/handoff", { session_id: conv.session_id, message_id: m.message_id || undefined,
        user_token: userToken || undefined });
      m.ticket = ticketOf(await res.json());
      if (conv !== mine) return; // the conversation was reset meanwhile
      rerender(m);
      revealTicket(m, true);
    } catch (e) {
      if (conv !== mine) return;
      if (button) { button.disabled = false; button.textContent = T.handoff; }
      notice(T[ERR_TEXT[e.kind] || "errServer"]);
    } finally {
      if (conv === mine) { handoffPending = false; syncBar(); }
    }
  }

  function notice(text) {
    const m = { role: "bot", text, error: true, pending: false };
    conv.messages.push(m);
    save();
    log.append(renderMessage(m));
    log.scrollTop = log.scrollHeight;
  }

  function reset() {
    if (inflight) inflight.abort();
    conv = { session_id: null, messages: [], open: isOpen() };
    save();
    handoffPending = false;
    syncBar();
    renderAll();
    input.focus();
  }

  function destroy() {
    if (inflight) inflight.abort();
    if (lastFocus && isOpen() && document.contains(lastFocus)) lastFocus.focus();
    host && host.remove();
    host = shadow = root = launcher = panel = log = form = input = sendBtn = suggest = personBtn = null;
    delete window.AskDesk;
  }

  window.AskDesk = Object.freeze({
    version: "1.0.0",
    open: () => open(),
    close: () => close(),
    ask: (text) => ask(text),
    setUser: (token) => { userToken = token ? String(token) : null; },
    destroy,
  });

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
})();
