/*!
 * 政策助手 — embeddable chat widget for the plan assistant.
 *
 * Embed:
 *   <script src="https://HOST/widget.js" data-plan="shizhu-2022" data-title="政策助手" async></script>
 *
 * Plain modern JavaScript, no dependencies, no build step. Everything is rendered
 * inside an open shadow root; all server-provided text is set with textContent.
 * The only global is window.PlanAssistant = {open(), close(), ask(text)}.
 */
(function () {
  "use strict";

  if (window.PlanAssistant) return; // loaded twice: keep the first instance

  // ---------------------------------------------------------------------------
  // Configuration from the <script> tag
  // ---------------------------------------------------------------------------

  function findOwnScript() {
    if (document.currentScript) return document.currentScript;
    // async scripts lose currentScript in some loaders: find ours by its src
    var scripts = document.getElementsByTagName("script");
    for (var i = scripts.length - 1; i >= 0; i--) {
      var src = scripts[i].getAttribute("src") || "";
      if (/(^|\/)widget\.js([?#].*)?$/.test(src)) return scripts[i];
    }
    return null;
  }

  var script = findOwnScript();
  var ds = (script && script.dataset) || {};

  function scriptOrigin() {
    try {
      if (script && script.src) return new URL(script.src, location.href).origin;
    } catch (e) {
      /* fall through */
    }
    return location.origin;
  }

  function isTouch() {
    return !!(window.matchMedia && window.matchMedia("(hover: none) and (pointer: coarse)").matches);
  }

  function validColor(value) {
    return !!value && !!(window.CSS && CSS.supports && CSS.supports("color", value));
  }

  var LANG = ds.lang === "en" ? "en" : "zh";
  // Every string the widget itself shows, per data-lang (answers come in the question's language).
  var STRINGS = {
    zh: {
      title: "政策助手",
      openLabel: "打开政策助手",
      newChat: "新对话",
      newChatTitle: "清空当前对话，开始新的对话",
      close: "关闭",
      closeTitle: "关闭（Esc）",
      log: "对话记录",
      suggestLabel: "推荐问题",
      inputLabel: "输入您的问题",
      placeholder: "请输入您的问题",
      send: "发送",
      foot: "Enter 发送 · Shift+Enter 换行 · 回答依据方案原文生成，仅供参考",
      footTouch: "回答依据方案原文生成，仅供参考",
      loading: "正在查找方案原文…",
      rateLimited: "请求过于频繁，请稍后再试",
      network: "网络连接失败，请检查网络后重试。",
      unanswered: "这个问题还没有得到回答，可以点击“重试”。",
      interrupted: "回答没有完成，连接中断了，请重试。",
      httpError: "服务暂时不可用（{0}），请稍后重试。",
      serverError: "生成回答时出错，请重试。",
      unknownError: "出错了，请重试。",
      retry: "重试",
      retryWait: "（请 {0} 秒后再试）",
      sources: "来源：",
      source: "来源 ",
      taskN: "第{0}项",
      lead: "牵头",
      leadUnit: "牵头单位",
      responsibleUnit: "责任单位",
      deadline: "完成时限",
      colon: "：",
      notListed: "未列明",
      via: "引用原因：责任单位写为“{0}”",
      useful: "有用",
      usefulTitle: "👍 回答有用",
      useless: "没用",
      uselessTitle: "👎 回答没用",
      sending: "正在提交…",
      thanks: "感谢您的反馈！",
      feedbackFailed: "反馈提交失败，请重试",
      copy: "复制",
      copyTitle: "复制回答文字",
      copied: "已复制",
      copyFailed: "复制失败，请手动选择文字复制",
      greetingPlan: "您好！我是{0}，可以解答《{1}》的相关问题，例如某项任务由哪些单位牵头、负责。回答均附方案原文出处。",
      greeting: "您好！我是{0}，可以解答已收录实施方案的相关问题，例如某项任务由哪些单位牵头、负责。回答均附方案原文出处。",
      suggestions: ["方案的发展目标是什么？", "方案一共有多少项任务？", "有哪些保障措施？"],
      exportList: "导出清单",
      exportTitle: "把这份任务清单下载为 Excel 文件",
      exporting: "正在导出…",
      exported: "已下载",
      exportFailed: "导出失败，请重试",
      originBlocked:
        "本网站（{0}）尚未获准使用政策助手，暂时无法提问。网站管理员：请在问答服务的 ASSISTANT_CORS_ORIGINS 设置中加入“{0}”后重启服务。",
    },
    en: {
      title: "Policy assistant",
      openLabel: "Open the policy assistant",
      newChat: "New chat",
      newChatTitle: "Clear this conversation and start a new one",
      close: "Close",
      closeTitle: "Close (Esc)",
      log: "Conversation",
      suggestLabel: "Suggested questions",
      inputLabel: "Type your question",
      placeholder: "Ask about the plan…",
      send: "Send",
      foot: "Enter to send · Shift+Enter for a new line · Answers quote the plan; for reference only",
      footTouch: "Answers quote the plan; for reference only",
      loading: "Searching the plan…",
      rateLimited: "Too many requests; please try again shortly",
      network: "Network error. Check your connection and retry.",
      unanswered: "This question has no answer yet. You can retry.",
      interrupted: "The answer was cut off. Please retry.",
      httpError: "The service is unavailable ({0}). Please retry later.",
      serverError: "Something went wrong while answering. Please retry.",
      unknownError: "Something went wrong. Please retry.",
      retry: "Retry",
      retryWait: " (retry in {0} s)",
      sources: "Sources:",
      source: "Source ",
      taskN: "Task {0}",
      lead: "Lead",
      leadUnit: "Lead",
      responsibleUnit: "Responsible",
      deadline: "Deadline",
      colon: ": ",
      notListed: "not listed",
      via: "Cited because the responsible units read “{0}”",
      useful: "Helpful",
      usefulTitle: "👍 Helpful",
      useless: "Not helpful",
      uselessTitle: "👎 Not helpful",
      sending: "Sending…",
      thanks: "Thank you for your feedback!",
      feedbackFailed: "Feedback failed; please retry",
      copy: "Copy",
      copyTitle: "Copy the answer text",
      copied: "Copied",
      copyFailed: "Copy failed; select the text to copy it",
      greetingPlan: "Hello! I am the {0}. Ask me about 《{1}》: which measures apply to you, which unit leads a task. Every answer cites the plan.",
      greeting: "Hello! I am the {0}. Ask me about the plans: which measures apply to you, which unit leads a task. Every answer cites the plan.",
      suggestions: ["What are the goals of the plan?", "How many tasks does the plan list?", "Which measures concern healthcare?"],
      exportList: "Export list",
      exportTitle: "Download this task list as an Excel file",
      exporting: "Exporting…",
      exported: "Downloaded",
      exportFailed: "Export failed; please retry",
      originBlocked:
        "This site ({0}) is not yet allowed to use the policy assistant. Site administrator: add “{0}” to the service's ASSISTANT_CORS_ORIGINS setting and restart it.",
    },
  };
  var S = STRINGS[LANG];
  function fmt(template) {
    var args = arguments;
    return String(template).replace(/\{(\d)\}/g, function (_, i) {
      return String(args[Number(i) + 1]);
    });
  }

  var config = {
    api: String(ds.api || scriptOrigin()).replace(/\/+$/, ""),
    plan: ds.plan || "",
    lang: LANG,
    title: ds.title || S.title,
    greeting: ds.greeting || "",
    accent: validColor(ds.accent) ? ds.accent : "",
    position: ds.position === "left" ? "left" : "right",
    open: ds.open === "true",
  };

  // The server's CORS allow-list, written in when the server serves this file (null when
  // the file is served some other way: then nothing is known and nothing is checked).
  var ALLOWED_ORIGINS = /*ALLOWED_ORIGINS*/null;

  /** Can this page call the API? Same origin always; otherwise only an allowed origin. */
  function originAllowed() {
    if (!Array.isArray(ALLOWED_ORIGINS) || config.api !== scriptOrigin()) return true;
    if (location.origin === config.api) return true;
    return ALLOWED_ORIGINS.indexOf("*") >= 0 || ALLOWED_ORIGINS.indexOf(location.origin) >= 0;
  }
  var ORIGIN_OK = originAllowed();
  if (!ORIGIN_OK && window.console) {
    console.error(
      "[plan-assistant] this page's origin " + location.origin + " is not in the ASSISTANT_CORS_ORIGINS " +
        "allow-list of " + config.api + ", so the browser blocks every request to it. Add it on the " +
        "server, e.g. ASSISTANT_CORS_ORIGINS='[\"" + location.origin + "\"]', and restart the service."
    );
  }

  var MAX_HISTORY_MESSAGES = 20; // sent to the server (it accepts up to 40)
  var MAX_STORED_TURNS = 60;
  var MAX_INPUT_CHARS = 2000;
  var STORAGE_KEY = "plan-assistant:v1:" + config.api + ":" + (config.plan || "all");
  var FALLBACK_SUGGESTIONS = S.suggestions;

  // ---------------------------------------------------------------------------
  // Transport: fetch + Server-Sent Events parsing + feedback. No DOM here.
  // ---------------------------------------------------------------------------

  function TransportError(kind, message, opts) {
    opts = opts || {};
    var err = new Error(message || kind);
    err.name = "TransportError";
    err.kind = kind; // network | interrupted | http | rate_limited | server | aborted
    err.serverMessage = typeof message === "string" ? message : "";
    err.status = opts.status || 0;
    err.code = opts.code || "";
    err.retryAfter = opts.retryAfter || 0;
    return err;
  }

  function parseRetryAfter(value) {
    if (!value) return 0;
    var s = Number(value);
    if (isFinite(s) && s >= 0) return Math.ceil(s);
    var when = Date.parse(value);
    if (!isNaN(when)) return Math.max(0, Math.ceil((when - Date.now()) / 1000));
    return 0;
  }

  /** Incremental parser for the text/event-stream framing (WHATWG SSE). */
  function createSSEParser(onEvent) {
    var buffer = "";
    var eventType = "";
    var data = [];

    function dispatch() {
      if (data.length) onEvent(eventType || "message", data.join("\n"));
      eventType = "";
      data = [];
    }

    function handleLine(line) {
      if (line === "") return dispatch();
      if (line.charAt(0) === ":") return; // comment / keep-alive
      var i = line.indexOf(":");
      var field = i < 0 ? line : line.slice(0, i);
      var value = i < 0 ? "" : line.slice(i + 1);
      if (value.charAt(0) === " ") value = value.slice(1);
      if (field === "event") eventType = value;
      else if (field === "data") data.push(value);
      // id / retry are irrelevant for a single POST response
    }

    function drain(final) {
      for (;;) {
        var m = /\r\n|\r|\n/.exec(buffer);
        if (!m) break;
        // a lone "\r" at the very end may be the first half of "\r\n"
        if (!final && m[0] === "\r" && m.index === buffer.length - 1) break;
        var line = buffer.slice(0, m.index);
        buffer = buffer.slice(m.index + m[0].length);
        handleLine(line);
      }
    }

    return {
      push: function (chunk) {
        buffer += chunk;
        drain(false);
      },
      end: function () {
        drain(true);
        if (buffer) handleLine(buffer);
        buffer = "";
        dispatch();
      },
    };
  }

  function createTransport(base) {
    function errorFromResponse(res) {
      return res
        .json()
        .catch(function () {
          return null;
        })
        .then(function (body) {
          body = body && typeof body === "object" ? body : {};
          var message = typeof body.message === "string" ? body.message : "";
          var code = typeof body.error === "string" ? body.error : "http_" + res.status;
          if (res.status === 429) {
            var retry =
              parseRetryAfter(res.headers.get("Retry-After")) ||
              parseRetryAfter(body.retry_after);
            return TransportError("rate_limited", message, {
              status: 429,
              code: code,
              retryAfter: retry,
            });
          }
          return TransportError("http", message, { status: res.status, code: code });
        });
    }

    function postJSON(path, payload, signal) {
      return fetch(base + path, {
        method: "POST",
        mode: "cors",
        credentials: "omit",
        cache: "no-store",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(payload),
        signal: signal,
      });
    }

    return {
      /**
       * Stream one answer. handlers: onMeta, onDelta(text), onCitations(list), onDone(answer).
       * Resolves with the final answer object; rejects with a TransportError.
       */
      chat: async function (messages, planId, handlers, signal) {
        var payload = { messages: messages };
        if (planId) payload.plan_id = planId;
        var res;
        try {
          res = await fetch(base + "/api/chat/stream", {
            method: "POST",
            mode: "cors",
            credentials: "omit",
            cache: "no-store",
            headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
            body: JSON.stringify(payload),
            signal: signal,
          });
        } catch (e) {
          throw TransportError(signal && signal.aborted ? "aborted" : "network", "");
        }
        if (!res.ok) throw await errorFromResponse(res);

        var final = null;
        var failure = null;
        var parser = createSSEParser(function (event, raw) {
          if (final || failure) return;
          var data;
          try {
            data = JSON.parse(raw);
          } catch (e) {
            return; // ignore malformed frames
          }
          if (!data || typeof data !== "object") return;
          if (event === "meta") handlers.onMeta && handlers.onMeta(data);
          else if (event === "delta") {
            if (typeof data.text === "string") handlers.onDelta && handlers.onDelta(data.text);
          } else if (event === "citations") {
            handlers.onCitations && handlers.onCitations(asArray(data.citations));
          } else if (event === "done") {
            final = data;
          } else if (event === "error") {
            failure = TransportError(
              "server",
              typeof data.message === "string" ? data.message : "",
              { code: typeof data.error === "string" ? data.error : "" }
            );
          }
        });

        if (!res.body || !res.body.getReader) {
          // very old engines: no streaming, parse the whole body at once
          try {
            parser.push(await res.text());
          } catch (e) {
            throw TransportError(signal && signal.aborted ? "aborted" : "interrupted", "");
          }
        } else {
          var reader = res.body.getReader();
          var decoder = new TextDecoder("utf-8");
          for (;;) {
            var chunk;
            try {
              chunk = await reader.read();
            } catch (e) {
              throw TransportError(signal && signal.aborted ? "aborted" : "interrupted", "");
            }
            if (chunk.done) break;
            parser.push(decoder.decode(chunk.value, { stream: true }));
            if (final || failure) {
              // the answer is complete: let the rest of the body drain in the background
              drainQuietly(reader);
              break;
            }
          }
          parser.push(decoder.decode());
        }
        parser.end();
        if (failure) throw failure;
        if (!final) throw TransportError("interrupted", "");
        if (handlers.onDone) handlers.onDone(final);
        return final;
      },

      feedback: async function (messageId, rating, comment) {
        var payload = { message_id: messageId, rating: rating };
        if (comment) payload.comment = comment;
        var res;
        try {
          res = await postJSON("/api/feedback", payload);
        } catch (e) {
          throw TransportError("network", "");
        }
        if (!res.ok) throw await errorFromResponse(res);
        return res.json().catch(function () {
          return { ok: true };
        });
      },

      /** A duty list as an xlsx file: resolves with {blob, name}. */
      download: async function (exp) {
        var q = "unit=" + encodeURIComponent(exp.unit) + "&format=xlsx";
        if (exp.plan) q += "&plan=" + encodeURIComponent(exp.plan);
        if (exp.role) q += "&role=" + encodeURIComponent(exp.role);
        var res;
        try {
          res = await fetch(base + "/api/tasks?" + q, { mode: "cors", credentials: "omit", cache: "no-store" });
        } catch (e) {
          throw TransportError("network", "");
        }
        if (!res.ok) throw await errorFromResponse(res);
        var name = exp.unit + "-任务清单.xlsx";
        var cd = res.headers.get("Content-Disposition") || "";
        var m = /filename\*=UTF-8''([^;]+)/i.exec(cd);
        if (m) {
          try {
            name = decodeURIComponent(m[1]);
          } catch (e) {
            /* keep the default name */
          }
        }
        return { blob: await res.blob(), name: name };
      },
      plan: async function (planId) {
        var res = await fetch(base + "/api/plans/" + encodeURIComponent(planId), {
          mode: "cors",
          credentials: "omit",
          headers: { Accept: "application/json" },
        });
        if (!res.ok) throw await errorFromResponse(res);
        return res.json();
      },
    };
  }

  function drainQuietly(reader) {
    reader.read().then(
      function (r) {
        if (!r.done) drainQuietly(reader);
      },
      function () {}
    );
  }

  function asArray(v) {
    return Array.isArray(v) ? v : [];
  }

  function asStringArray(v) {
    return asArray(v).filter(function (x) {
      return typeof x === "string" && x;
    });
  }

  // ---------------------------------------------------------------------------
  // Styles (all inside the shadow root)
  // ---------------------------------------------------------------------------

  var CSS_TEXT = [
    // `all: initial !important` on the host beats even `* {… !important}` from the page
    // (important declarations from the inner tree context win), so nothing inherits in.
    ":host{all:initial !important;",
    "--pa-accent:#b4232a;--pa-accent-text:#ffffff;--pa-focus:#1d4ed8;--pa-bg:#ffffff;",
    "--pa-fg:#1f2328;--pa-muted:#57606a;--pa-border:#d0d7de;--pa-bot:#f3f5f8;--pa-user:#fdecec;",
    "--pa-z:2147483647;",
    '--pa-font:system-ui,-apple-system,"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC",sans-serif}',
    ".root{font-family:var(--pa-font);font-size:14px;line-height:1.6;color:var(--pa-fg);",
    "font-weight:400;font-style:normal;letter-spacing:normal;word-spacing:normal;text-align:left;",
    "text-transform:none;text-indent:0;text-shadow:none;white-space:normal;direction:ltr;",
    "visibility:visible;cursor:auto;overflow-wrap:anywhere;-webkit-text-size-adjust:100%}",
    "*,*::before,*::after{box-sizing:border-box}",
    "button,textarea{font:inherit;color:inherit;letter-spacing:inherit;margin:0}",
    "button{cursor:pointer;border:0;background:none;padding:0;text-align:center}",
    "button:disabled{cursor:default;opacity:.55}",
    "[hidden]{display:none !important}",
    ":focus{outline:none}",
    ":focus-visible{outline:3px solid var(--pa-focus);outline-offset:2px}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap}",

    ".launcher{position:fixed;bottom:24px;right:24px;z-index:var(--pa-z);width:60px;height:60px;",
    "border-radius:50%;background:var(--pa-accent);color:var(--pa-accent-text);display:flex;",
    "align-items:center;justify-content:center;box-shadow:0 6px 20px rgba(0,0,0,.28);transition:transform .15s ease}",
    ".launcher:hover{transform:scale(1.06)}",
    ".launcher:focus-visible{outline-offset:3px}",
    ".launcher svg{width:28px;height:28px;fill:currentColor;display:block}",
    ".left .launcher{right:auto;left:24px}",

    ".panel{position:fixed;bottom:24px;right:24px;z-index:var(--pa-z);width:380px;",
    "max-width:calc(100vw - 32px);height:620px;max-height:calc(100vh - 48px);display:flex;",
    "flex-direction:column;background:var(--pa-bg);color:var(--pa-fg);border:1px solid var(--pa-border);",
    "border-radius:14px;box-shadow:0 14px 44px rgba(0,0,0,.3);overflow:hidden}",
    ".left .panel{right:auto;left:24px}",

    ".head{display:flex;align-items:center;gap:8px;padding:10px 10px 10px 16px;background:var(--pa-accent);color:var(--pa-accent-text);flex:none}",
    ".title{flex:1;margin:0;font-size:16px;font-weight:600;line-height:1.4;color:inherit;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    ".head button{color:inherit;border-radius:6px;min-height:32px;line-height:1}",
    ".head .new{padding:0 10px;border:1px solid rgba(255,255,255,.7);font-size:13px}",
    ".head .close{width:32px;font-size:22px}",
    ".head button:hover{background:rgba(255,255,255,.16)}",
    ".head button:focus-visible{outline-color:#ffffff;outline-offset:1px}",

    ".log{flex:1;overflow-y:auto;padding:14px 14px 6px;display:flex;flex-direction:column;gap:12px;overscroll-behavior:contain;background:var(--pa-bg)}",
    ".msg{display:flex;flex-direction:column;max-width:100%}",
    ".msg.user{align-items:flex-end}",
    ".bubble{padding:9px 12px;border-radius:12px;max-width:92%;white-space:pre-wrap;word-break:break-word}",
    ".user .bubble{background:var(--pa-user);border-bottom-right-radius:4px}",
    ".bot .bubble{background:var(--pa-bot);border-bottom-left-radius:4px}",
    ".ref{color:var(--pa-accent);font-size:12px;font-weight:600;vertical-align:super;line-height:0;margin:0 1px}",
    ".notice{margin-top:6px;font-size:12px;color:var(--pa-muted)}",
    ".text.structured{white-space:normal}",
    ".summary{margin:0 0 6px;font-weight:600}",
    ".para{margin:0 0 4px}",
    ".ltitle{margin:8px 0 4px;font-weight:600}",
    ".items{margin:0 0 4px;padding-left:22px}",
    ".item{margin:0 0 8px;padding-left:2px}",
    ".tno{font-weight:600;margin-right:4px}",
    ".unitrow{display:flex;flex-wrap:wrap;align-items:center;gap:4px;margin-top:4px}",
    ".ulabel{font-size:12px;color:var(--pa-muted)}",
    ".unit{font-size:12px;line-height:1.5;padding:0 6px;border-radius:4px;background:var(--pa-bg);border:1px solid var(--pa-border)}",
    ".unit.lead{border-color:var(--pa-accent);color:var(--pa-accent)}",
    ".rel{margin-top:4px;padding-left:8px;border-left:2px solid var(--pa-border);font-size:13px}",
    ".streaming .text::after{content:'▍';color:var(--pa-muted);animation:pa-blink 1s steps(2) infinite}",
    "@keyframes pa-blink{50%{opacity:0}}",

    ".loading .bubble{display:flex;align-items:center;gap:8px;color:var(--pa-muted)}",
    ".dots{display:inline-flex;gap:4px}",
    ".dots i{width:6px;height:6px;border-radius:50%;background:var(--pa-muted);animation:pa-bounce 1s infinite ease-in-out}",
    ".dots i:nth-child(2){animation-delay:.15s}.dots i:nth-child(3){animation-delay:.3s}",
    "@keyframes pa-bounce{0%,80%,100%{transform:translateY(0);opacity:.5}40%{transform:translateY(-4px);opacity:1}}",

    ".error .bubble{background:#fff4f4;border:1px solid #f1b8b8;color:#8a1c1c}",
    ".emsg{margin:0}",
    ".retry{margin-top:8px;padding:4px 12px;border-radius:6px;border:1px solid currentColor;font-size:13px}",

    ".cites{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin-top:6px;font-size:12px;color:var(--pa-muted)}",
    ".cite{min-width:30px;padding:2px 8px;border-radius:999px;border:1px solid var(--pa-border);background:var(--pa-bg);color:var(--pa-accent);font-size:12px;font-weight:600;line-height:1.6}",
    ".cite[aria-expanded='true']{background:var(--pa-accent);color:var(--pa-accent-text);border-color:var(--pa-accent)}",
    ".source{margin-top:6px;padding:10px 12px;border-left:3px solid var(--pa-accent);background:#fafbfc;border-radius:0 8px 8px 0;font-size:13px}",
    ".src-title{font-weight:600}",
    ".src-meta{color:var(--pa-muted);font-size:12px;margin-top:2px}",
    ".quote{margin:6px 0;padding:0;white-space:pre-wrap}",
    ".units{margin:0;display:grid;grid-template-columns:auto 1fr;gap:2px 8px;font-size:12px}",
    ".units dt{color:var(--pa-muted);margin:0}.units dd{margin:0}",

    ".actions{display:flex;align-items:center;gap:4px;margin-top:4px;font-size:12px;color:var(--pa-muted)}",
    ".actions button{padding:3px 7px;border-radius:6px;font-size:13px;line-height:1.4}",
    ".actions button:hover{background:var(--pa-bot)}",
    ".actions button[aria-pressed='true']{background:var(--pa-user)}",
    ".actions .rate{display:inline-flex;align-items:center;justify-content:center;width:30px;height:26px;padding:0}",
    ".rate svg{width:15px;height:15px;fill:currentColor;display:block}",
    ".actions .rate[aria-pressed='true']{color:var(--pa-accent)}",
    ".actions .copy,.actions .export{font-size:12px;color:var(--pa-muted)}",
    ".actions .export{color:var(--pa-accent);border:1px solid var(--pa-border)}",
    ".blocked .bubble{background:#fff8e6;border:1px solid #e8c66a;color:#5c4400}",
    ".astatus{margin-left:4px}",

    ".suggest{display:flex;flex-wrap:wrap;gap:6px;padding:6px 14px 4px;flex:none}",
    ".chip{padding:3px 10px;border-radius:999px;border:1px solid var(--pa-accent);color:var(--pa-accent);background:var(--pa-bg);font-size:13px;line-height:1.45;text-align:left;max-width:100%}",
    ".chip:hover{background:var(--pa-user)}",

    ".composer{display:flex;align-items:flex-end;gap:8px;padding:8px 12px 6px;border-top:1px solid var(--pa-border);flex:none;margin:0}",
    ".input{flex:1;resize:none;min-height:40px;max-height:120px;padding:9px 10px;border:1px solid var(--pa-border);border-radius:8px;background:#fff;color:var(--pa-fg);font-size:14px;line-height:1.45;display:block;width:auto}",
    ".input:focus-visible{outline-offset:0}",
    ".send{height:40px;padding:0 16px;border-radius:8px;background:var(--pa-accent);color:var(--pa-accent-text);font-size:14px;font-weight:600;flex:none}",
    ".foot{margin:0;padding:0 12px 8px;font-size:11px;color:var(--pa-muted);text-align:center;flex:none}",
    ".clip{position:fixed;top:-1000px;left:-1000px;opacity:0}",

    "@media (max-width:480px){",
    ".panel{top:0;left:0;right:0;bottom:0;width:100%;max-width:none;height:100%;max-height:none;border-radius:0;border:0}",
    ".left .panel{left:0;right:0}",
    ".launcher{bottom:16px;right:16px}.left .launcher{left:16px}",
    "}",
    "@media (prefers-reduced-motion:reduce){*{animation:none !important;transition:none !important}}",
  ].join("\n");

  // ---------------------------------------------------------------------------
  // DOM helpers (text only through textContent / text nodes)
  // ---------------------------------------------------------------------------

  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var v = attrs[key];
        if (v === null || v === undefined || v === false) return;
        if (key === "text") el.textContent = String(v);
        else if (key === "class") el.className = v;
        else if (key.slice(0, 2) === "on" && typeof v === "function")
          el.addEventListener(key.slice(2), v);
        else el.setAttribute(key, v === true ? "" : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return el;
  }

  function icon(pathD) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", pathD);
    svg.appendChild(path);
    return svg;
  }

  var CHAT_ICON =
    "M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2zM7 9h10v2H7zm0-3h10v2H7zm0 6h7v2H7z";

  var THUMB_UP =
    "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z";
  var THUMB_DOWN =
    "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31l-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1-.9-2-2-2zm4 0v12h4V3h-4z";

  var uid = 0;
  function nextId(prefix) {
    uid += 1;
    return "pa-" + prefix + "-" + uid;
  }

  // ---------------------------------------------------------------------------
  // Persistence (sessionStorage; failures are ignored)
  // ---------------------------------------------------------------------------

  function loadTurns() {
    try {
      var raw = window.sessionStorage.getItem(STORAGE_KEY);
      if (!raw) return [];
      var data = JSON.parse(raw);
      return asArray(data && data.turns).filter(function (t) {
        return t && (t.role === "user" || t.role === "assistant") && typeof t.content === "string";
      });
    } catch (e) {
      return [];
    }
  }

  function saveTurns(turns) {
    try {
      var kept = turns.slice(-MAX_STORED_TURNS);
      window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ v: 1, turns: kept }));
    } catch (e) {
      /* storage full or disabled */
    }
  }

  function clearTurns() {
    try {
      window.sessionStorage.removeItem(STORAGE_KEY);
    } catch (e) {
      /* ignore */
    }
  }

  // ---------------------------------------------------------------------------
  // UI
  // ---------------------------------------------------------------------------

  var transport = createTransport(config.api);

  var state = {
    turns: [],
    busy: false,
    isOpen: false,
    controller: null,
    planInfo: null,
    planSuggestions: null,
    planRequested: false,
  };

  var ui = null; // filled by init()

  function init() {
    if (ui) return ui;
    var host = document.createElement("plan-assistant");
    host.setAttribute("data-plan-assistant", "");
    var shadow = host.attachShadow({ mode: "open" });

    var sheetText = CSS_TEXT + (config.accent ? "\n:host{--pa-accent:" + config.accent + "}" : "");
    var adopted = false;
    try {
      // constructable stylesheets are not blocked by a host page's style-src CSP
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(sheetText);
      shadow.adoptedStyleSheets = [sheet];
      adopted = true;
    } catch (e) {
      adopted = false;
    }
    if (!adopted) shadow.appendChild(h("style", { text: sheetText }));

    var panelId = nextId("panel");
    var titleId = nextId("title");
    var hintId = nextId("hint");

    var launcher = h(
      "button",
      {
        type: "button",
        class: "launcher",
        "aria-label": S.openLabel,
        "aria-expanded": "false",
        "aria-controls": panelId,
        title: config.title,
        onclick: function () {
          open();
        },
      },
      icon(CHAT_ICON)
    );

    var title = h("h2", { class: "title", id: titleId, text: config.title });
    var newBtn = h("button", {
      type: "button",
      class: "new",
      text: S.newChat,
      title: S.newChatTitle,
      onclick: newConversation,
    });
    var closeBtn = h("button", {
      type: "button",
      class: "close",
      "aria-label": S.close,
      title: S.closeTitle,
      text: "×",
      onclick: function () {
        close(true);
      },
    });

    var log = h("div", {
      class: "log",
      role: "log",
      "aria-live": "polite",
      "aria-label": S.log,
      tabindex: "0",
    });
    var greetingText = h("div", { class: "bubble", text: greetingFor(null) });
    var greeting = h("div", { class: "msg bot greeting" }, greetingText);
    log.appendChild(greeting);

    var suggest = h("div", { class: "suggest", role: "group", "aria-label": S.suggestLabel });

    var input = h("textarea", {
      class: "input",
      rows: "1",
      maxlength: String(MAX_INPUT_CHARS),
      "aria-label": S.inputLabel,
      placeholder: S.placeholder,
      "aria-describedby": hintId,
      onkeydown: function (e) {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
          e.preventDefault();
          submit();
        }
      },
      oninput: autosize,
    });
    var send = h("button", { type: "submit", class: "send", text: S.send });
    var form = h(
      "form",
      {
        class: "composer",
        novalidate: true,
        onsubmit: function (e) {
          e.preventDefault();
          submit();
        },
      },
      input,
      send
    );
    var foot = h("p", {
      class: "foot",
      id: hintId,
      text: isTouch() ? S.footTouch : S.foot,
    });

    var panel = h(
      "section",
      {
        class: "panel",
        id: panelId,
        role: "dialog",
        "aria-label": config.title,
        "aria-modal": "false",
        hidden: true,
        onkeydown: function (e) {
          if ((e.key === "Escape" || e.key === "Esc") && !e.isComposing) {
            e.preventDefault();
            e.stopPropagation();
            close(true);
          }
        },
      },
      h("div", { class: "head" }, title, newBtn, closeBtn),
      log,
      suggest,
      form,
      foot
    );

    var root = h("div", { class: "root " + config.position }, launcher, panel);
    shadow.appendChild(root);
    document.body.appendChild(host);

    ui = {
      host: host,
      shadow: shadow,
      root: root,
      launcher: launcher,
      panel: panel,
      log: log,
      greetingText: greetingText,
      suggest: suggest,
      input: input,
      send: send,
    };

    state.turns = loadTurns();
    renderAll();
    if (!ORIGIN_OK) showBlocked();
    return ui;
  }

  /** This page's origin is not allowed: say so where the operator will look, ask nothing. */
  function showBlocked() {
    var msg = fmt(S.originBlocked, location.origin);
    ui.greetingText.textContent = msg;
    ui.greetingText.setAttribute("role", "alert");
    ui.greetingText.parentNode.classList.add("blocked");
    ui.input.disabled = true;
    ui.send.disabled = true;
    ui.suggest.hidden = true;
  }

  function greetingFor(plan) {
    if (config.greeting) return config.greeting;
    if (plan && typeof plan.title === "string" && plan.title) {
      return fmt(S.greetingPlan, config.title, plan.title);
    }
    return fmt(S.greeting, config.title);
  }

  function autosize() {
    var input = ui.input;
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 120) + "px";
  }

  function scrollToEnd() {
    var log = ui.log;
    log.scrollTop = log.scrollHeight;
  }

  function setBusy(busy) {
    state.busy = busy;
    ui.send.disabled = busy || !ORIGIN_OK;
    ui.log.setAttribute("aria-busy", busy ? "true" : "false");
    renderSuggestions();
  }

  // ----- open / close -------------------------------------------------------

  function open(noFocus) {
    init();
    if (!state.isOpen) {
      state.isOpen = true;
      ui.panel.hidden = false;
      ui.launcher.hidden = true;
      ui.launcher.setAttribute("aria-expanded", "true");
      loadPlan();
      renderSuggestions();
      scrollToEnd();
    }
    if (noFocus !== true) ui.input.focus();
  }

  function close(returnFocus) {
    if (!ui || !state.isOpen) return;
    var hadFocus = ui.shadow.activeElement !== null;
    state.isOpen = false;
    ui.panel.hidden = true;
    ui.launcher.hidden = false;
    ui.launcher.setAttribute("aria-expanded", "false");
    if (returnFocus || hadFocus) ui.launcher.focus();
  }

  function loadPlan() {
    if (state.planRequested || !ORIGIN_OK) return;
    state.planRequested = true;
    if (!config.plan) {
      state.planSuggestions = FALLBACK_SUGGESTIONS.slice();
      renderSuggestions();
      return;
    }
    transport
      .plan(config.plan)
      .then(function (plan) {
        state.planInfo = plan;
        var s = asStringArray(plan && plan.suggestions);
        state.planSuggestions = s.length ? s : FALLBACK_SUGGESTIONS.slice();
        ui.greetingText.textContent = greetingFor(plan);
      })
      .catch(function () {
        state.planSuggestions = FALLBACK_SUGGESTIONS.slice();
      })
      .then(renderSuggestions);
  }

  // ----- suggestions ----------------------------------------------------------

  function currentSuggestions() {
    var turns = state.turns;
    if (!turns.length) return state.planSuggestions || [];
    var last = turns[turns.length - 1];
    if (last.role === "assistant") return asStringArray(last.suggestions);
    return [];
  }

  function renderSuggestions() {
    if (!ui) return;
    var box = ui.suggest;
    box.textContent = "";
    var list = state.busy || !ORIGIN_OK ? [] : currentSuggestions().slice(0, 4);
    list.forEach(function (text) {
      box.appendChild(
        h("button", {
          type: "button",
          class: "chip",
          text: text,
          onclick: function () {
            send(text);
          },
        })
      );
    });
    box.hidden = list.length === 0;
  }

  // ----- rendering turns ------------------------------------------------------

  function renderAll() {
    var log = ui.log;
    while (log.lastChild && log.lastChild !== log.firstChild) log.removeChild(log.lastChild);
    state.turns.forEach(function (turn, i) {
      if (turn.role === "user") {
        log.appendChild(userNode(turn.content));
        var next = state.turns[i + 1];
        if (!next && i === state.turns.length - 1) {
          log.appendChild(errorNode({ kind: "unanswered" }, true));
        }
      } else {
        log.appendChild(answerNode(turn).el);
      }
    });
    renderSuggestions();
    scrollToEnd();
  }

  function userNode(text) {
    return h("div", { class: "msg user" }, h("div", { class: "bubble", text: text }));
  }

  function loadingNode() {
    return h(
      "div",
      { class: "msg bot loading" },
      h(
        "div",
        { class: "bubble" },
        h("span", { class: "dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")),
        h("span", { text: S.loading })
      )
    );
  }

  function errorMessage(err) {
    switch (err.kind) {
      case "rate_limited":
        return S.rateLimited;
      case "network":
        return S.network;
      case "unanswered":
        return S.unanswered;
      case "interrupted":
        return S.interrupted;
      case "http":
        return err.serverMessage || fmt(S.httpError, err.status);
      case "server":
        return err.serverMessage || S.serverError;
      default:
        return S.unknownError;
    }
  }

  function errorNode(err, canRetry) {
    var text = h("p", { class: "emsg", text: errorMessage(err) });
    var bubble = h("div", { class: "bubble", role: "alert" }, text);
    var node = h("div", { class: "msg bot error" }, bubble);
    if (canRetry) {
      var retry = h("button", {
        type: "button",
        class: "retry",
        text: S.retry,
        onclick: function () {
          if (state.busy) return;
          node.remove();
          request();
        },
      });
      bubble.appendChild(h("div", null, retry));
      var wait = err.kind === "rate_limited" ? err.retryAfter : 0;
      if (wait > 0) {
        var hint = h("span", { text: fmt(S.retryWait, wait) });
        text.appendChild(hint);
        retry.disabled = true;
        retry.textContent = S.retry + " (" + wait + ")";
        var timer = setInterval(function () {
          wait -= 1;
          if (wait <= 0 || !node.isConnected) {
            clearInterval(timer);
            retry.disabled = false;
            retry.textContent = S.retry;
            hint.textContent = "";
          } else {
            retry.textContent = S.retry + " (" + wait + ")";
          }
        }, 1000);
      }
    }
    return node;
  }

  /** Split a printed unit list on 、 outside parentheses (县事业单位登记管理局（县委编办） stays whole). */
  function splitUnits(text) {
    var out = [];
    var depth = 0;
    var cur = "";
    String(text || "").split("").forEach(function (ch) {
      if (ch === "（" || ch === "(") depth++;
      if (ch === "）" || ch === ")") depth = Math.max(0, depth - 1);
      if ((ch === "、" || ch === "，") && depth === 0) {
        if (cur) out.push(cur);
        cur = "";
      } else cur += ch;
    });
    if (cur) out.push(cur);
    return out;
  }

  function unitRow(item) {
    var row = h("div", { class: "unitrow" });
    var lead = splitUnits(item.lead);
    var resp = splitUnits(item.responsible);
    row.appendChild(h("span", { class: "ulabel", text: S.leadUnit + S.colon }));
    if (!lead.length) row.appendChild(h("span", { class: "ulabel", text: S.notListed }));
    lead.forEach(function (u) {
      row.appendChild(h("span", { class: "unit lead", text: u }));
    });
    // the plan's own role word; in English with the English word first
    var role = item.role_word || S.responsibleUnit;
    if (LANG === "en" && item.role_word) role = S.responsibleUnit + " (" + item.role_word + ")";
    row.appendChild(h("span", { class: "ulabel", text: role + S.colon }));
    if (!resp.length) row.appendChild(h("span", { class: "ulabel", text: S.notListed }));
    resp.forEach(function (u) {
      row.appendChild(h("span", { class: "unit", text: u }));
    });
    if (item.deadline) {
      row.appendChild(h("span", { class: "ulabel", text: S.deadline + S.colon }));
      row.appendChild(h("span", { class: "deadline", text: String(item.deadline) }));
    }
    return row;
  }

  function itemBody(item, citations) {
    var line = h("div", { class: "itext" });
    if (item.task_number !== null && item.task_number !== undefined)
      line.appendChild(h("span", { class: "tno", text: fmt(S.taskN, item.task_number) }));
    fillAnswerText(line, String(item.text || "") + (item.marker ? " [" + item.marker + "]" : ""), citations, true);
    return line;
  }

  function planTitle(item, citations) {
    for (var i = 0; i < citations.length; i++) {
      if (citations[i].marker === item.marker && citations[i].plan_title) return "《" + citations[i].plan_title + "》";
    }
    return "";
  }

  /** A structured answer: summary, paragraphs, and numbered task items with unit chips. */
  function renderBlocks(el, blocks, citations) {
    el.textContent = "";
    el.classList.add("structured");
    blocks.forEach(function (b, i) {
      if (!b || typeof b !== "object") return;
      if (b.kind === "list") {
        if (b.title) el.appendChild(fillAnswerText(h("p", { class: "ltitle" }), String(b.title), citations));
        var ol = h("ol", { class: "items" });
        asArray(b.items).forEach(function (it) {
          if (!it || typeof it !== "object") return;
          var li = h("li", { class: "item" }, itemBody(it, citations), unitRow(it));
          asArray(it.related).forEach(function (r) {
            if (r && typeof r === "object")
              li.appendChild(h("div", { class: "rel" }, h("span", { text: "↔ " + planTitle(r, citations) + " " }), itemBody(r, citations), unitRow(r)));
          });
          ol.appendChild(li);
        });
        el.appendChild(ol);
      } else {
        el.appendChild(fillAnswerText(h("p", { class: i === 0 ? "summary" : "para" }), String(b.text || ""), citations));
      }
    });
  }

  /** Answer text with [n] markers styled; plain text nodes only. */
  function fillAnswerText(el, text, citations, append) {
    if (!append) el.textContent = "";
    var known = {};
    citations.forEach(function (c) {
      known[String(c.marker)] = true;
    });
    var re = /\[(\d{1,3})\]/g;
    var last = 0;
    var m;
    while ((m = re.exec(text))) {
      if (!known[m[1]]) continue;
      if (m.index > last) el.appendChild(document.createTextNode(text.slice(last, m.index)));
      el.appendChild(h("span", { class: "ref", text: m[0] }));
      last = m.index + m[0].length;
    }
    if (last < text.length) el.appendChild(document.createTextNode(text.slice(last)));
    return el;
  }

  function normalizeCitations(list) {
    return asArray(list)
      .filter(function (c) {
        return c && typeof c === "object";
      })
      .map(function (c, i) {
        var n = Number(c.marker);
        return {
          marker: isFinite(n) && n > 0 ? Math.floor(n) : i + 1,
          plan_id: typeof c.plan_id === "string" ? c.plan_id : "",
          plan_title: typeof c.plan_title === "string" ? c.plan_title : "",
          task_number:
            c.task_number === null || c.task_number === undefined || !isFinite(Number(c.task_number))
              ? null
              : Number(c.task_number),
          section: typeof c.section === "string" ? c.section : "",
          quote: typeof c.quote === "string" ? c.quote : "",
          passage_id: typeof c.passage_id === "string" ? c.passage_id : "",
          lead: asStringArray(c.lead),
          responsible: asStringArray(c.responsible),
          role_word: typeof c.role_word === "string" ? c.role_word : "",
          via: typeof c.via === "string" ? c.via : "",
        };
      });
  }

  function citationsNode(citations) {
    var wrap = h("div", null);
    if (!citations.length) return wrap;
    var row = h("div", { class: "cites" }, h("span", { text: S.sources }));
    var details = h("div", null);
    citations.forEach(function (c) {
      var id = nextId("src");
      var detail = sourceNode(c, id);
      detail.hidden = true;
      var label = S.source + c.marker + (c.plan_title ? " " + c.plan_title : "");
      if (c.task_number !== null) label += " " + fmt(S.taskN, c.task_number);
      var chip = h("button", {
        type: "button",
        class: "cite",
        text: "[" + c.marker + "]",
        "aria-expanded": "false",
        "aria-controls": id,
        "aria-label": label,
        title: label,
        onclick: function () {
          var expanded = chip.getAttribute("aria-expanded") === "true";
          chip.setAttribute("aria-expanded", expanded ? "false" : "true");
          detail.hidden = expanded;
          if (!expanded && detail.scrollIntoView) detail.scrollIntoView({ block: "nearest" });
        },
      });
      row.appendChild(chip);
      details.appendChild(detail);
    });
    wrap.appendChild(row);
    wrap.appendChild(details);
    return wrap;
  }

  function sourceNode(c, id) {
    var meta = [];
    if (c.task_number !== null) meta.push(fmt(S.taskN, c.task_number));
    if (c.section) meta.push(c.section);
    var node = h(
      "div",
      { class: "source", id: id, role: "region", "aria-label": S.source + c.marker },
      h("div", { class: "src-title", text: "[" + c.marker + "] " + (c.plan_title || c.plan_id) }),
      meta.length ? h("div", { class: "src-meta", text: meta.join(" · ") }) : null,
      c.quote ? h("blockquote", { class: "quote", text: c.quote }) : null,
      c.via ? h("div", { class: "src-meta via", text: fmt(S.via, c.via) }) : null
    );
    if (c.lead.length || c.responsible.length) {
      var dl = h("dl", { class: "units" });
      if (c.lead.length) {
        dl.appendChild(h("dt", { text: S.leadUnit }));
        dl.appendChild(h("dd", { text: c.lead.join("、") }));
      }
      if (c.responsible.length) {
        dl.appendChild(h("dt", { text: c.role_word || S.responsibleUnit }));
        dl.appendChild(h("dd", { text: c.responsible.join("、") }));
      }
      node.appendChild(dl);
    }
    return node;
  }

  /** An assistant answer; returns {el, setText(text), finish(turn)}. */
  function answerNode(turn) {
    var text = h("div", { class: "text" });
    var bubble = h("div", { class: "bubble" }, text);
    var el = h("div", { class: "msg bot answer" }, bubble);
    var extras = h("div", null);
    el.appendChild(extras);

    function finish(t) {
      var citations = normalizeCitations(t.citations);
      if (Array.isArray(t.blocks) && t.blocks.length) renderBlocks(text, t.blocks, citations);
      else fillAnswerText(text, t.content, citations);
      el.classList.remove("streaming");
      el.removeAttribute("aria-busy");
      el.setAttribute("data-status", t.status || "");
      if (t.message_id) el.setAttribute("data-message-id", t.message_id);
      if (t.notice) bubble.appendChild(h("div", { class: "notice", text: t.notice }));
      extras.textContent = "";
      extras.appendChild(citationsNode(citations));
      extras.appendChild(actionsNode(t));
    }

    if (turn) finish(turn);
    return {
      el: el,
      setText: function (s) {
        el.classList.add("streaming");
        el.setAttribute("aria-busy", "true");
        text.textContent = s;
      },
      finish: finish,
    };
  }

  function actionsNode(turn) {
    var status = h("span", { class: "astatus", role: "status" });
    var row = h("div", { class: "actions" });
    if (turn.message_id) {
      // 👍 / 👎 drawn as SVG so they render without an emoji font
      var up = h(
        "button",
        { type: "button", class: "rate", "aria-label": S.useful, title: S.usefulTitle },
        icon(THUMB_UP)
      );
      var down = h(
        "button",
        { type: "button", class: "rate", "aria-label": S.useless, title: S.uselessTitle },
        icon(THUMB_DOWN)
      );
      var mark = function (rating) {
        up.setAttribute("aria-pressed", rating === "up" ? "true" : "false");
        down.setAttribute("aria-pressed", rating === "down" ? "true" : "false");
      };
      mark(turn.feedback || "");
      var rate = function (rating) {
        if (turn.feedback === rating) return;
        up.disabled = down.disabled = true;
        status.textContent = S.sending;
        transport
          .feedback(turn.message_id, rating)
          .then(function () {
            turn.feedback = rating;
            mark(rating);
            status.textContent = S.thanks;
            saveTurns(state.turns);
          })
          .catch(function (err) {
            status.textContent =
              err && err.kind === "rate_limited" ? S.rateLimited : S.feedbackFailed;
          })
          .then(function () {
            up.disabled = down.disabled = false;
          });
      };
      up.addEventListener("click", function () {
        rate("up");
      });
      down.addEventListener("click", function () {
        rate("down");
      });
      row.appendChild(up);
      row.appendChild(down);
    }
    var copy = h("button", { type: "button", class: "copy", text: S.copy, title: S.copyTitle });
    copy.addEventListener("click", function () {
      copyText(turn.content).then(function (ok) {
        status.textContent = ok ? S.copied : S.copyFailed;
        copy.focus();
      });
    });
    row.appendChild(copy);
    if (turn.export && typeof turn.export.unit === "string") {
      var exp = h("button", { type: "button", class: "export", text: S.exportList, title: S.exportTitle });
      exp.addEventListener("click", function () {
        exp.disabled = true;
        status.textContent = S.exporting;
        transport
          .download(turn.export)
          .then(function (file) {
            saveBlob(file.blob, file.name);
            status.textContent = S.exported;
          })
          .catch(function () {
            status.textContent = S.exportFailed;
          })
          .then(function () {
            exp.disabled = false;
          });
      });
      row.appendChild(exp);
    }
    row.appendChild(status);
    return row;
  }

  /** Hand a file to the browser's downloads (an object URL on a detached link: no page DOM). */
  function saveBlob(blob, name) {
    var url = URL.createObjectURL(blob);
    var a = h("a", { href: url, download: name });
    ui.root.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () {
      URL.revokeObjectURL(url);
    }, 10000);
  }

  function copyText(text) {
    var fallback = function () {
      var ta = h("textarea", { class: "clip", readonly: true, "aria-hidden": "true" });
      ta.value = text;
      ui.root.appendChild(ta);
      ta.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (e) {
        ok = false;
      }
      ta.remove();
      return ok;
    };
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(
        function () {
          return true;
        },
        function () {
          return fallback();
        }
      );
    }
    return Promise.resolve(fallback());
  }

  // ----- conversation -------------------------------------------------------

  /** History for the server: answered pairs plus the pending question. */
  function buildMessages() {
    var turns = state.turns;
    var out = [];
    for (var i = 0; i < turns.length; i++) {
      var t = turns[i];
      if (t.role !== "user") continue;
      var next = turns[i + 1];
      if (next && next.role === "assistant") {
        out.push({ role: "user", content: t.content });
        out.push({ role: "assistant", content: next.content });
        i++;
      } else if (i === turns.length - 1) {
        out.push({ role: "user", content: t.content });
      }
    }
    out = out.slice(-MAX_HISTORY_MESSAGES);
    while (out.length && out[0].role !== "user") out.shift();
    return out;
  }

  function submit() {
    var text = ui.input.value;
    if (send(text)) {
      ui.input.value = "";
      autosize();
    }
  }

  function send(text) {
    init();
    text = String(text == null ? "" : text).trim();
    if (!text || state.busy || !ORIGIN_OK) return false;
    if (text.length > MAX_INPUT_CHARS) text = text.slice(0, MAX_INPUT_CHARS);
    // an earlier failed question stays visible, but its retry is no longer offered
    Array.prototype.forEach.call(ui.log.querySelectorAll(".error .retry"), function (b) {
      b.parentNode.remove();
    });
    state.turns.push({ role: "user", content: text });
    saveTurns(state.turns);
    ui.log.appendChild(userNode(text));
    scrollToEnd();
    request();
    return true;
  }

  async function request() {
    if (state.busy) return;
    setBusy(true);
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    state.controller = controller;
    var loading = loadingNode();
    ui.log.appendChild(loading);
    scrollToEnd();

    var view = null;
    var acc = "";
    var streamedCitations = [];
    try {
      var final = await transport.chat(
        buildMessages(),
        config.plan,
        {
          onDelta: function (piece) {
            if (!view) {
              loading.remove();
              view = answerNode(null);
              ui.log.appendChild(view.el);
            }
            acc += piece;
            view.setText(acc);
            scrollToEnd();
          },
          onCitations: function (list) {
            streamedCitations = list;
          },
        },
        controller ? controller.signal : undefined
      );
      if (state.controller !== controller) return; // conversation was reset
      var turn = {
        role: "assistant",
        content: typeof final.answer === "string" ? final.answer : acc,
        status: typeof final.status === "string" ? final.status : "answered",
        intent: typeof final.intent === "string" ? final.intent : "",
        citations: normalizeCitations(
          Array.isArray(final.citations) ? final.citations : streamedCitations
        ),
        suggestions: asStringArray(final.suggestions),
        blocks: Array.isArray(final.blocks) ? final.blocks : [],
        message_id: typeof final.message_id === "string" ? final.message_id : "",
        notice: typeof final.notice === "string" ? final.notice : "",
        export: final.export && typeof final.export === "object" ? final.export : null,
        feedback: "",
      };
      loading.remove();
      if (!view) {
        view = answerNode(null);
        ui.log.appendChild(view.el);
      }
      view.finish(turn);
      state.turns.push(turn);
      saveTurns(state.turns);
    } catch (err) {
      if (state.controller !== controller || (err && err.kind === "aborted")) return;
      loading.remove();
      if (view) view.el.remove();
      ui.log.appendChild(errorNode(err && err.kind ? err : { kind: "network" }, true));
    } finally {
      if (state.controller === controller) {
        state.controller = null;
        setBusy(false);
        scrollToEnd();
      }
    }
  }

  function newConversation() {
    if (state.controller) state.controller.abort();
    state.controller = null;
    state.turns = [];
    clearTurns();
    setBusy(false);
    renderAll();
    ui.input.value = "";
    autosize();
    ui.input.focus();
  }

  // ---------------------------------------------------------------------------
  // Public API + start-up
  // ---------------------------------------------------------------------------

  var pending = [];
  function whenReady(fn) {
    if (document.body) fn();
    else pending.push(fn);
  }

  function start() {
    init();
    if (config.open) open(true);
    pending.splice(0).forEach(function (fn) {
      fn();
    });
  }

  Object.defineProperty(window, "PlanAssistant", {
    value: Object.freeze({
      open: function () {
        whenReady(open);
      },
      close: function () {
        whenReady(function () {
          close(false);
        });
      },
      ask: function (text) {
        whenReady(function () {
          open();
          // while an answer is streaming, leave the question in the input box
          if (!send(text) && state.busy && typeof text === "string") ui.input.value = text;
        });
      },
    }),
    writable: false,
    configurable: false,
    enumerable: false,
  });

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start, { once: true });
})();
