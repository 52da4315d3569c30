#!/usr/bin/env python3
"""Drives ONE user of the official OpenIM SDK core (libopenimsdk.so, Go, via ctypes).

usage: sdk_core.py CONFIG_JSON
  CONFIG_JSON: {"lib", "api", "ws", "data_dir", "user", "token", "platform": 3,
                "deadline_s": 60, "log_level": 5, "steps": [COMMAND, ...]}
Commands run in order: first `steps` from the config, then one JSON object per stdin line until
EOF (then the process exits). Every command prints exactly one result line. Commands:
  {"op":"login","token":T?} {"op":"logout"} {"op":"conversations"} {"op":"exit"}
  {"op":"send","to":U,"texts":["a","b"],"delay_ms":50}   one result line per text
  {"op":"send","group":G,"texts":["a"]}                  to a group (recvID "", groupID G)
  {"op":"call","fn":F,"args":[...]}   any SDK function F(baseCb, opID, args...) listed in FUNCS;
      a string arg is passed as is, a list/object as its JSON text, an int/bool as a C int
  {"op":"history","conversation":C,"count":20}
  {"op":"mark_read","conversation":C}
  {"op":"revoke","conversation":C,"client_msg_id":M}
  {"op":"wait_msgs","from":U,"count":N,"timeout_s":20}  counts distinct received clientMsgIDs
  {"op":"wait_event","event":E,"timeout_s":20}           E already seen also counts
  {"op":"sleep","ms":M}
Output (stdout, one JSON object a line, nothing else):
  {"kind":"event","event":N,"data":<parsed JSON or string>}
  {"kind":"result","op":..,"code":..,"msg":..,"data":<parsed JSON or string>}
  {"kind":"deadline"} just before the process ends itself at deadline_s.
The SDK's own log (log_level 5 = debug, with requests and errors) goes to stderr.
The SDK is a process-wide singleton: one process per user, a fresh data_dir per run.
"""
import ctypes as C
import json
import os
import sys
import threading
import time

cfg = json.loads(sys.argv[1])

# Our protocol lines go to the original stdout; fd 1 becomes stderr so the Go runtime's log lines
# (isLogStandardOutput) can never interleave with them.
out = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
out_lock = threading.Lock()


def emit(obj):
    line = json.dumps(obj, separators=(",", ":"))
    with out_lock:
        out.write(line + "\n")
        out.flush()


def text(b):
    return b.decode("utf-8", "replace") if b else ""


def parsed(b):
    s = text(b)
    try:
        return json.loads(s) if s else None
    except ValueError:
        return s


def end(reason):
    emit({"kind": reason})
    os._exit(0)  # never wait on the Go runtime's threads


deadline = time.monotonic() + float(cfg.get("deadline_s", 60))
threading.Thread(target=lambda: (time.sleep(max(0.0, deadline - time.monotonic())), end("deadline")),
                 daemon=True).start()

lib = C.CDLL(cfg["lib"])
LISTENER = C.CFUNCTYPE(None, C.c_int, C.c_char_p)
BASECB = C.CFUNCTYPE(None, C.c_char_p, C.c_int, C.c_char_p, C.c_char_p)
SENDCB = C.CFUNCTYPE(None, C.c_char_p, C.c_int, C.c_char_p, C.c_char_p, C.c_int)
s_ = C.c_char_p
lib.get_sdk_version.restype = s_
lib.init_sdk.argtypes = [LISTENER, s_, s_]
lib.init_sdk.restype = C.c_uint8
LISTENERS = ("set_user_listener", "set_friend_listener", "set_group_listener",
             "set_conversation_listener", "set_advanced_msg_listener", "set_batch_msg_listener",
             "set_custom_business_listener")
for name in LISTENERS:
    getattr(lib, name).argtypes = [LISTENER]
    getattr(lib, name).restype = None
for name, args in (("login", [BASECB, s_, s_, s_]), ("logout", [BASECB, s_]),
                   ("get_all_conversation_list", [BASECB, s_]),
                   ("get_advanced_history_message_list", [BASECB, s_, s_]),
                   ("mark_conversation_message_as_read", [BASECB, s_, s_]),
                   ("revoke_message", [BASECB, s_, s_, s_])):
    getattr(lib, name).argtypes = args
    getattr(lib, name).restype = None
# The generic "call" op: SDK functions of the form F(baseCb, opID, args...), with the argument
# kinds of the official electron wrapper (@openim/electron-client-sdk lib/index.js): s = char*,
# i = int (the C layer turns ints into Go bools where the Go function takes one).
FUNCS = {
    # groups
    "create_group": "s", "join_group": "ssis", "quit_group": "s", "dismiss_group": "s",
    "change_group_mute": "si", "change_group_member_mute": "ssi", "set_group_member_info": "s",
    "get_joined_group_list": "", "get_joined_group_list_page": "ii",
    "get_specified_groups_info": "s", "set_group_info": "s", "search_groups": "s",
    "get_group_member_list": "siii", "get_group_member_owner_and_admin": "s",
    "get_specified_group_members_info": "ss", "kick_group_member": "sss",
    "transfer_group_owner": "ss", "invite_user_to_group": "sss",
    "get_group_application_list_as_recipient": "s", "get_group_application_list_as_applicant": "s",
    "get_group_application_unhandled_count": "s", "accept_group_application": "sss",
    "refuse_group_application": "sss", "is_join_group": "s", "get_users_in_group": "ss",
    # friends and blacks
    "get_specified_friends_info": "si", "get_friend_list": "i", "get_friend_list_page": "iii",
    "search_friends": "s", "check_friend": "s", "add_friend": "s", "delete_friend": "s",
    "update_friends": "s", "get_friend_application_list_as_recipient": "s",
    "get_friend_application_list_as_applicant": "s", "get_friend_application_unhandled_count": "s",
    "accept_friend_application": "s", "refuse_friend_application": "s", "add_black": "ss",
    "get_black_list": "", "remove_black": "s",
    # users and conversations
    "get_users_info": "s", "get_self_user_info": "", "get_one_conversation": "is",
    "get_multiple_conversation": "s", "get_total_unread_msg_count": "",
    "get_all_conversation_list": "", "get_advanced_history_message_list": "s",
    "mark_conversation_message_as_read": "s",
}
KINDS = {"s": s_, "i": C.c_int}
for name, kinds in FUNCS.items():
    getattr(lib, name).argtypes = [BASECB, s_] + [KINDS[k] for k in kinds]
    getattr(lib, name).restype = None
lib.create_text_message.argtypes = [s_, s_]
lib.create_text_message.restype = s_
lib.send_message.argtypes = [SENDCB, s_, s_, s_, s_, s_, C.c_int]
lib.send_message.restype = None

# Received messages by sender (distinct clientMsgIDs) and every event number seen, for the waits.
seen = threading.Condition()
received = {}
events_seen = set()
MESSAGE_EVENTS = (32, 39, 41, 42)  # single/batch, online/offline RECV_NEW_MESSAGE(S)


@LISTENER
def on_event(ev, data):
    value = parsed(data)
    emit({"kind": "event", "event": ev, "data": value})
    with seen:
        events_seen.add(ev)
        if ev in MESSAGE_EVENTS:
            msgs = value if isinstance(value, list) else [value]
            for m in msgs:
                if isinstance(m, dict):
                    received.setdefault(m.get("sendID", ""), set()).add(m.get("clientMsgID", ""))
        seen.notify_all()


# One callback object per kind, dispatching by operationID; ctypes keeps them alive here.
pending = {}
pending_lock = threading.Lock()


def _finish(op, code, msg, data):
    with pending_lock:
        slot = pending.get(text(op))
    if slot is not None and not slot["done"].is_set():
        slot["res"] = (code, text(msg), parsed(data))
        slot["done"].set()


@BASECB
def on_base(op, code, msg, data):
    _finish(op, code, msg, data)


@SENDCB
def on_send(op, code, msg, data, progress):
    if code or msg or data:  # progress-only calls carry none of these
        _finish(op, code, msg, data)


op_counter = [0]


def call(fn, cb, *args, timeout=20.0):
    op_counter[0] += 1
    op_id = f"{cfg['user']}-op-{op_counter[0]}"
    slot = {"done": threading.Event(), "res": None}
    with pending_lock:
        pending[op_id] = slot
    fn(cb, op_id.encode(), *args)
    if not slot["done"].wait(timeout):
        return (-1, "driver: no callback within %.0fs" % timeout, None)
    return slot["res"]


def call_args(fn, args):
    """C arguments for FUNCS[fn] from the command's JSON args (None when they do not fit)."""
    kinds = FUNCS.get(fn)
    if kinds is None or not isinstance(args, list) or len(args) != len(kinds):
        return None
    out = []
    for kind, a in zip(kinds, args):
        if kind == "i":
            out.append(int(a))
        elif isinstance(a, str):
            out.append(a.encode())
        else:
            out.append(json.dumps(a, separators=(",", ":")).encode())
    return out


def result(op, code, msg, data, **extra):
    emit({"kind": "result", "op": op, "code": code, "msg": msg, "data": data, **extra})


def wait_until(pred, timeout):
    with seen:
        return seen.wait_for(pred, timeout)


def run(cmd):
    op = cmd.get("op")
    if op == "login":
        token = cmd.get("token") or cfg["token"]  # a fresh token may come with a second login
        code, msg, data = call(lib.login, on_base, cfg["user"].encode(), token.encode())
        result(op, code, msg, data)
    elif op == "logout":
        result(op, *call(lib.logout, on_base))
    elif op == "conversations":
        result(op, *call(lib.get_all_conversation_list, on_base))
    elif op == "history":
        params = {"conversationID": cmd["conversation"], "count": cmd.get("count", 20),
                  "startClientMsgID": "", "lastMinSeq": 0}
        result(op, *call(lib.get_advanced_history_message_list, on_base, json.dumps(params).encode()))
    elif op == "mark_read":
        result(op, *call(lib.mark_conversation_message_as_read, on_base, cmd["conversation"].encode()))
    elif op == "revoke":
        result(op, *call(lib.revoke_message, on_base, cmd["conversation"].encode(),
                         cmd["client_msg_id"].encode()))
    elif op == "send":
        for i, body in enumerate(cmd.get("texts", ["hello"])):
            if i and cmd.get("delay_ms"):
                time.sleep(cmd["delay_ms"] / 1000.0)
            m = lib.create_text_message(b"create", body.encode())
            if not m:
                result(op, -1, "driver: create_text_message returned null", None, text=body)
                continue
            code, msg, data = call(lib.send_message, on_send, m, cmd.get("to", "").encode(),
                                   cmd.get("group", "").encode(), b"{}", 0)
            result(op, code, msg, data, text=body)
    elif op == "call":
        fn = cmd.get("fn", "")
        args = call_args(fn, cmd.get("args", []))
        if args is None:
            result(op, -1, "driver: unknown function or wrong arguments", None, fn=fn)
        else:
            result(op, *call(getattr(lib, fn), on_base, *args,
                             timeout=float(cmd.get("timeout_s", 20))), fn=fn)
    elif op == "wait_msgs":
        frm, n = cmd["from"], int(cmd["count"])
        ok = wait_until(lambda: len(received.get(frm, ())) >= n, float(cmd.get("timeout_s", 20)))
        result(op, 0 if ok else -1, "" if ok else "timeout", len(received.get(frm, ())))
    elif op == "wait_event":
        ev = int(cmd["event"])
        ok = wait_until(lambda: ev in events_seen, float(cmd.get("timeout_s", 20)))
        result(op, 0 if ok else -1, "" if ok else "timeout", ev)
    elif op == "sleep":
        time.sleep(cmd.get("ms", 0) / 1000.0)
        result(op, 0, "", None)
    elif op == "exit":
        end("exit")
    else:
        result(op, -1, "driver: unknown op", None)


version = text(lib.get_sdk_version())
init_cfg = {"platformID": int(cfg.get("platform", 3)), "apiAddr": cfg["api"], "wsAddr": cfg["ws"],
            "dataDir": cfg["data_dir"], "logLevel": int(cfg.get("log_level", 5)),
            "isLogStandardOutput": True, "logFilePath": cfg["data_dir"]}
os.makedirs(cfg["data_dir"], exist_ok=True)
ok = lib.init_sdk(on_event, b"init", json.dumps(init_cfg).encode()) == 1
result("init", 0 if ok else -1, version, None)
if not ok:
    end("exit")
for name in LISTENERS:
    getattr(lib, name)(on_event)

for step in cfg.get("steps", []):
    run(step)
for line in sys.stdin:
    if line.strip():
        try:
            step = json.loads(line)
        except ValueError:
            result("parse", -1, "driver: bad command line", line.strip())
            continue
        run(step)
end("exit")
