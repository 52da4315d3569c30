// Drives ONE user of the official pure-JS OpenIM SDK (@openim/client-sdk, JSON frames, /jssdk/*).
// usage: node --experimental-websocket js_sdk.mjs CONFIG_JSON
//   CONFIG_JSON: {"js_dir" (where @openim/client-sdk is installed), "api", "ws", "user", "token",
//                 "platform": 5, "deadline_s": 60, "steps": [COMMAND, ...]}
// Same command/output protocol as sdk_core.py: commands from `steps`, then one JSON object per
// stdin line until EOF; one result line per command (`send`: one per text); events as
// {"kind":"event","event":"<CbEvents name>","data":...}. Commands: login (waits for
// OnSyncServerFinish: createTextMessage rejects before the first sync), logout, conversations,
// send {to, texts, delay_ms}, history {conversation, count}, mark_read {conversation},
// revoke {conversation, client_msg_id},
// wait_msgs {from, count, timeout_s}, wait_event {event: name, timeout_s}, sleep {ms}, exit.
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import util from 'node:util';

// stdout carries only our JSON lines: the SDK's own logging (console.*) goes to stderr.
for (const k of ['log', 'info', 'warn', 'error', 'debug', 'trace']) {
  console[k] = (...a) => process.stderr.write(util.format(...a) + '\n');
}

const cfg = JSON.parse(process.argv[2]);
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const end = (kind, code = 0) => { emit({ kind }); process.exit(code); };
// The SDK throws from inside its own callbacks when a server answer has the wrong shape; report
// that as a line the test can show instead of a silent death.
process.on('uncaughtException', (e) => { emit({ kind: 'uncaught', error: String((e && e.stack) || e) }); end('exit', 3); });
process.on('unhandledRejection', (e) => emit({ kind: 'unhandled', error: safe(e) }));
setTimeout(() => end('deadline'), 1000 * (cfg.deadline_s ?? 60)).unref();

function safe(v) {
  try { return JSON.parse(JSON.stringify(v ?? null)); } catch { return String(v); }
}

// Every HTTP exchange of the SDK goes to the log too (it names neither path nor body on errors).
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, init = {}) => {
  const body = typeof init.body === 'string' ? init.body : init.body ? `<${init.body.byteLength ?? '?'} bytes>` : '';
  let r;
  try { r = await realFetch(url, init); } catch (e) { console.error(`HTTP ${url} ${body} -> network error ${e}`); throw e; }
  const text = await r.clone().text().catch(() => '<unreadable>');
  console.error(`HTTP ${url} ${body.slice(0, 800)} -> ${r.status} ${text.slice(0, 800)}`);
  return r;
};

const require = createRequire(path.join(cfg.js_dir, 'package.json'));
const { getSDK, CbEvents } = require('@openim/client-sdk');
const sdk = getSDK();

const received = new Map(); // sendID -> Set(clientMsgID)
const eventsSeen = new Set();
let wake = [];
const notify = () => { const w = wake; wake = []; w.forEach((f) => f()); };
for (const name of Object.values(CbEvents)) {
  sdk.on(name, (ev) => {
    const data = safe(ev && ev.data);
    emit({ kind: 'event', event: name, data, errCode: ev && ev.errCode });
    eventsSeen.add(name);
    if (name === CbEvents.OnRecvNewMessages || name === CbEvents.OnRecvNewMessage) {
      for (const m of Array.isArray(data) ? data : [data]) {
        if (m && m.sendID !== undefined) {
          if (!received.has(m.sendID)) received.set(m.sendID, new Set());
          received.get(m.sendID).add(m.clientMsgID);
        }
      }
    }
    notify();
  });
}

function waitUntil(pred, timeoutS) {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(pred()), timeoutS * 1000);
    const check = () => { if (pred()) { clearTimeout(t); resolve(true); } else wake.push(check); };
    check();
  });
}

// SDK calls resolve with {errCode, errMsg, data} or reject with the same shape.
async function settle(p) {
  try { const r = await p; return { code: r?.errCode ?? 0, msg: r?.errMsg ?? '', data: safe(r?.data) }; }
  catch (e) { return { code: e?.errCode ?? -1, msg: e?.errMsg ?? String(e), data: safe(e?.data) }; }
}

const result = (op, r, extra = {}) => emit({ kind: 'result', op, code: r.code, msg: r.msg, data: r.data, ...extra });

async function run(cmd) {
  const op = cmd.op;
  switch (op) {
    case 'login': {
      const synced = waitUntil(() => eventsSeen.has(CbEvents.OnSyncServerFinish) || eventsSeen.has(CbEvents.OnSyncServerFailed), cmd.timeout_s ?? 20);
      const r = await settle(sdk.login({ userID: cfg.user, token: cfg.token, platformID: cfg.platform ?? 5, apiAddr: cfg.api, wsAddr: cfg.ws }));
      if (r.code === 0 && !(await synced)) { r.code = -1; r.msg = 'driver: no OnSyncServerFinish'; }
      return result(op, r);
    }
    case 'logout': return result(op, await settle(sdk.logout()));
    case 'conversations': return result(op, await settle(sdk.getConversationListSplit({ offset: 0, count: 100 })));
    case 'history':
      return result(op, await settle(sdk.getAdvancedHistoryMessageList({ conversationID: cmd.conversation, count: cmd.count ?? 20, startClientMsgID: '' })));
    case 'revoke':
      return result(op, await settle(sdk.revokeMessage({ conversationID: cmd.conversation, clientMsgID: cmd.client_msg_id })));
    case 'mark_read': return result(op, await settle(sdk.markConversationMessageAsRead(cmd.conversation)));
    case 'send': {
      const texts = cmd.texts ?? ['hello'];
      for (let i = 0; i < texts.length; i++) {
        if (i && cmd.delay_ms) await new Promise((r) => setTimeout(r, cmd.delay_ms));
        const m = await settle(sdk.createTextMessage(texts[i]));
        if (m.code !== 0) { result(op, m, { text: texts[i] }); continue; }
        result(op, await settle(sdk.sendMessage({ recvID: cmd.to, groupID: '', message: m.data })), { text: texts[i] });
      }
      return;
    }
    case 'wait_msgs': {
      const n = () => (received.get(cmd.from)?.size ?? 0);
      const ok = await waitUntil(() => n() >= cmd.count, cmd.timeout_s ?? 20);
      return result(op, { code: ok ? 0 : -1, msg: ok ? '' : 'timeout', data: n() });
    }
    case 'wait_event': {
      const ok = await waitUntil(() => eventsSeen.has(cmd.event), cmd.timeout_s ?? 20);
      return result(op, { code: ok ? 0 : -1, msg: ok ? '' : 'timeout', data: cmd.event });
    }
    case 'sleep': await new Promise((r) => setTimeout(r, cmd.ms ?? 0)); return result(op, { code: 0, msg: '', data: null });
    case 'exit': return end('exit');
    default: return result(op, { code: -1, msg: 'driver: unknown op', data: null });
  }
}

result('init', { code: 0, msg: 'client-sdk', data: null });
for (const step of cfg.steps ?? []) await run(step);
const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  let cmd;
  try { cmd = JSON.parse(line); } catch { result('parse', { code: -1, msg: 'driver: bad command line', data: line }); continue; }
  await run(cmd);
}
end('exit');
