"""Emulated Discord Gateway: HELLO/IDENTIFY/READY, heartbeats, RESUME with replay, zlib-stream transport."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

_log = logging.getLogger(__name__)

JSON = dict[str, Any]

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE = 3
OP_VOICE_STATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
INTENT_GUILD_MESSAGE_TYPING = 1 << 11
INTENT_MESSAGE_CONTENT = 1 << 15

_EVENT_INTENTS: dict[str, int] = {
    "GUILD_CREATE": INTENT_GUILDS,
    "GUILD_UPDATE": INTENT_GUILDS,
    "GUILD_ROLE_CREATE": INTENT_GUILDS,
    "GUILD_ROLE_UPDATE": INTENT_GUILDS,
    "GUILD_ROLE_DELETE": INTENT_GUILDS,
    "CHANNEL_CREATE": INTENT_GUILDS,
    "CHANNEL_UPDATE": INTENT_GUILDS,
    "CHANNEL_DELETE": INTENT_GUILDS,
    "THREAD_CREATE": INTENT_GUILDS,
    "THREAD_UPDATE": INTENT_GUILDS,
    "THREAD_DELETE": INTENT_GUILDS,
    "THREAD_LIST_SYNC": INTENT_GUILDS,
    "THREAD_MEMBER_UPDATE": INTENT_GUILDS,
    "THREAD_MEMBERS_UPDATE": INTENT_GUILDS,
    "GUILD_MEMBER_ADD": INTENT_GUILD_MEMBERS,
    "GUILD_MEMBER_UPDATE": INTENT_GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": INTENT_GUILD_MEMBERS,
    "MESSAGE_CREATE": INTENT_GUILD_MESSAGES,
    "MESSAGE_UPDATE": INTENT_GUILD_MESSAGES,
    "MESSAGE_DELETE": INTENT_GUILD_MESSAGES,
    "MESSAGE_DELETE_BULK": INTENT_GUILD_MESSAGES,
    "MESSAGE_REACTION_ADD": INTENT_GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE": INTENT_GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE_ALL": INTENT_GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE_EMOJI": INTENT_GUILD_MESSAGE_REACTIONS,
    "TYPING_START": INTENT_GUILD_MESSAGE_TYPING,
}

# Close codes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
CLOSE_UNKNOWN_ERROR = 4000
CLOSE_UNKNOWN_OPCODE = 4001
CLOSE_NOT_AUTHENTICATED = 4003
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_SESSION_TIMED_OUT = 4009
CLOSE_DISALLOWED_INTENTS = 4014


class _Compressor:
    """Transport compression as requested by ?compress= (zlib-stream, zstd-stream or none)."""

    def __init__(self, mode: str | None) -> None:
        self.mode = mode
        self._zlib = zlib.compressobj() if mode == "zlib-stream" else None
        self._zstd: Any = None
        if mode == "zstd-stream":
            import zstandard

            self._zstd = zstandard.ZstdCompressor().compressobj()

    def encode(self, text: str) -> bytes | str:
        raw = text.encode()
        if self._zlib is not None:
            # One shared stream; every payload ends with Z_SYNC_FLUSH (\x00\x00\xff\xff).
            return self._zlib.compress(raw) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
        if self._zstd is not None:
            import zstandard

            return self._zstd.compress(raw) + self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        return text


@dataclass(eq=False)
class Connection:
    ws: web.WebSocketResponse
    compressor: _Compressor
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    session: Session | None = None
    last_sent: int = 0

    async def send(self, payload: JSON) -> None:
        data = self.compressor.encode(json.dumps(payload))
        if isinstance(data, bytes):
            await self.ws.send_bytes(data)
        else:
            await self.ws.send_str(data)


@dataclass(eq=False)
class Session:
    id: str
    user_id: int
    intents: int
    log: list[JSON] = field(default_factory=list)
    connection: Connection | None = None
    invalidated: bool = False
    shard: tuple[int, int] | None = None  # [shard_id, shard_count] from IDENTIFY; None: every server

    def receives_guild(self, guild_id: int) -> bool:
        """Discord sends a server's events only to shard (guild_id >> 22) % shard_count."""
        return self.shard is None or (guild_id >> 22) % self.shard[1] == self.shard[0]

    def append(self, event: str, data: JSON) -> int:
        seq = len(self.log) + 1
        self.log.append({"op": OP_DISPATCH, "t": event, "s": seq, "d": data})
        return seq

    def wants(self, event: str) -> bool:
        needed = _EVENT_INTENTS.get(event, 0)
        return needed == 0 or bool(self.intents & needed)


ReadyBuilder = Callable[[Session], Awaitable[list[tuple[str, JSON]]]]
MembersBuilder = Callable[[int], list[JSON]]


class Gateway:
    """The websocket endpoint plus all gateway sessions and their event logs."""

    def __init__(
        self,
        *,
        token: Callable[[], str],
        bot_user_id: Callable[[], int],
        ready_events: ReadyBuilder,
        guild_members: MembersBuilder,
        on_change: Callable[[], Awaitable[None]],
        heartbeat_interval_ms: int = 41250,
    ) -> None:
        self._token = token
        self._bot_user_id = bot_user_id
        self._ready_events = ready_events
        self._guild_members = guild_members
        self._on_change = on_change
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        self._open = asyncio.Event()
        self._open.set()
        self.identify_count = 0
        self.resume_count = 0
        self.heartbeat_count = 0
        self.connect_count = 0
        self.compress_modes: list[str | None] = []
        self.received_ops: list[int] = []

    # ---- websocket handler -------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        mode = request.query.get("compress")
        self.compress_modes.append(mode)
        conn = Connection(ws=ws, compressor=_Compressor(mode))
        self.connections.add(conn)
        self.connect_count += 1
        try:
            await self._open.wait()  # a paused gateway holds new connections before HELLO
            if ws.closed:
                return ws
            hello = {"op": OP_HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None}
            await conn.send(hello)
            await self._serve(conn)
        except (ConnectionResetError, RuntimeError) as exc:
            _log.debug("gateway connection ended: %r", exc)
        finally:
            self._detach(conn)
        return ws

    async def _serve(self, conn: Connection) -> None:
        async for msg in conn.ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                break
            text = msg.data if msg.type == WSMsgType.TEXT else zlib.decompress(msg.data).decode()
            payload = json.loads(text)
            self.received_ops.append(payload.get("op"))
            await self._on_payload(conn, payload)

    def _detach(self, conn: Connection) -> None:
        self.connections.discard(conn)
        session = conn.session
        if session is not None and session.connection is conn:
            session.connection = None

    async def _on_payload(self, conn: Connection, payload: JSON) -> None:
        op = payload.get("op")
        data = payload.get("d")
        if op == OP_HEARTBEAT:
            self.heartbeat_count += 1
            await self._send_direct(conn, {"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == OP_IDENTIFY:
            await self._identify(conn, data or {})
        elif op == OP_RESUME:
            await self._resume(conn, data or {})
        elif conn.session is None:
            await conn.ws.close(code=CLOSE_NOT_AUTHENTICATED, message=b"Not authenticated.")
        elif op == OP_REQUEST_MEMBERS:
            await self._request_members(conn.session, data or {})
        elif op in (OP_PRESENCE, OP_VOICE_STATE):
            return
        else:
            await conn.ws.close(code=CLOSE_UNKNOWN_OPCODE, message=b"Unknown opcode.")

    async def _send_direct(self, conn: Connection, payload: JSON) -> None:
        async with conn.lock:
            await conn.send(payload)

    async def _identify(self, conn: Connection, data: JSON) -> None:
        if data.get("token") != self._token():
            await conn.ws.close(code=CLOSE_AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return
        if "intents" not in data:
            await conn.ws.close(code=CLOSE_DISALLOWED_INTENTS, message=b"Intents are required.")
            return
        session = Session(id=secrets.token_hex(16), user_id=self._bot_user_id(), intents=int(data["intents"]))
        if isinstance(data.get("shard"), list) and len(data["shard"]) == 2:
            session.shard = (int(data["shard"][0]), int(data["shard"][1]))
        self.sessions[session.id] = session
        self.identify_count += 1
        self._attach(conn, session, last_sent=0)
        for event, event_data in await self._ready_events(session):
            session.append(event, event_data)
        await self.flush(session)
        await self._on_change()

    async def _resume(self, conn: Connection, data: JSON) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        valid = session is not None and not session.invalidated and data.get("token") == self._token()
        if not valid or session is None:
            await self._send_direct(conn, {"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        self.resume_count += 1
        self._attach(conn, session, last_sent=int(data.get("seq") or 0))
        session.append("RESUMED", {"_trace": ["emulator"]})
        await self.flush(session)
        await self._on_change()

    def _attach(self, conn: Connection, session: Session, *, last_sent: int) -> None:
        previous = session.connection
        if previous is not None and previous is not conn:
            previous.session = None
            asyncio.get_running_loop().create_task(previous.ws.close(code=CLOSE_UNKNOWN_ERROR))
        conn.session = session
        conn.last_sent = last_sent
        session.connection = conn

    async def _request_members(self, session: Session, data: JSON) -> None:
        guild_id = int(data["guild_id"])
        members = self._guild_members(guild_id)
        wanted = {str(u) for u in data.get("user_ids") or []}
        if wanted:
            members = [m for m in members if m["user"]["id"] in wanted]
        chunk: JSON = {"guild_id": str(guild_id), "members": members, "chunk_index": 0, "chunk_count": 1}
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        session.append("GUILD_MEMBERS_CHUNK", chunk)
        await self.flush(session)

    # ---- dispatching ------------------------------------------------------

    async def dispatch(
        self, event: str, data: JSON, *, transform: Callable[[Session, JSON], JSON] | None = None
    ) -> None:
        """Queue an event in every live session that asked for it, and deliver it where connected."""
        for session in list(self.sessions.values()):
            if session.invalidated or not session.wants(event):
                continue
            if data.get("guild_id") is not None and not session.receives_guild(int(data["guild_id"])):
                continue
            session.append(event, transform(session, data) if transform else data)
            await self.flush(session)

    async def flush(self, session: Session) -> None:
        """Send every logged event the session's current connection has not seen yet, in order."""
        conn = session.connection
        if conn is None or not self._open.is_set():
            return
        async with conn.lock:
            try:
                while conn.last_sent < len(session.log) and session.connection is conn:
                    await conn.send(session.log[conn.last_sent])
                    conn.last_sent += 1
            except (ConnectionResetError, RuntimeError) as exc:
                _log.debug("gateway send failed, session %s will need RESUME: %r", session.id, exc)
                self._detach(conn)

    # ---- test controls ----------------------------------------------------

    @property
    def paused(self) -> bool:
        return not self._open.is_set()

    @property
    def connected(self) -> bool:
        return any(s.connection is not None for s in self.sessions.values() if not s.invalidated)

    async def send_reconnect(self) -> None:
        """op 7 RECONNECT: the client should reconnect and RESUME."""
        for conn in list(self.connections):
            if conn.session is not None:
                await self._send_direct(conn, {"op": OP_RECONNECT, "d": None, "s": None, "t": None})

    async def send_invalid_session(self, *, resumable: bool) -> None:
        """op 9 INVALID_SESSION; with resumable=False the session is gone and the client must IDENTIFY."""
        for conn in list(self.connections):
            session = conn.session
            if session is None:
                continue
            if not resumable:
                session.invalidated = True
            await self._send_direct(conn, {"op": OP_INVALID_SESSION, "d": resumable, "s": None, "t": None})

    async def close_all(self, *, code: int, invalidate: bool) -> None:
        """Drop every connection with a close code; invalidate=True forgets the sessions (new IDENTIFY)."""
        for session in self.sessions.values():
            if invalidate:
                session.invalidated = True
        for conn in list(self.connections):
            self._detach(conn)
            await conn.ws.close(code=code, message=b"Emulator closed the connection.")

    async def pause(self) -> None:
        """Disconnect (resumably) and hold reconnects before HELLO; events queue up in the session logs."""
        self._open.clear()
        await self.close_all(code=CLOSE_UNKNOWN_ERROR, invalidate=False)

    async def resume(self) -> None:
        """Let held connections proceed (HELLO, then the client RESUMEs and gets the missed events)."""
        self._open.set()
        for session in list(self.sessions.values()):
            await self.flush(session)

    async def shutdown(self) -> None:
        self._open.set()
        for conn in list(self.connections):
            await conn.ws.close(code=1001, message=b"Emulator shutting down.")
