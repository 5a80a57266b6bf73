/**
 * The thin client's lifecycle when its dependencies hang or fail: close()
 * with commands a silent server never answers, close() while a reconnect
 * waits on a stalled credentials source, a re-authentication whose provider
 * never answers, and a connection that reaches the server's 12-hour cut
 * after its re-authentication failed. Every wait ends; every failure is
 * reported or becomes the next command's error.
 */

import assert from "node:assert/strict";
import { connect } from "../src/client.ts";
import { AuthenticationError, ConnectionClosedError, TimeoutError } from "../src/errors.ts";
import { AUTH_STEP_TIMEOUT, CONNECTION_MAX_AGE } from "../src/auth/policy.ts";
import { FakeTimers } from "./_helpers/client_fake_timers.ts";
import { handshakeReply, scriptedTransport } from "./_helpers/scripted_transport.ts";

const WRONGPASS = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";

/** Lets promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

/** A provider whose next answers the test controls: a token, a refusal, or silence. */
class ControlledAuth {
  calls = 0;
  minted = 0;
  /** `"answer"` hands out a new token; `"hang"` never settles. */
  mode: "answer" | "hang" = "answer";
  credentials(): Promise<{ username: string; password: string }> {
    this.calls++;
    if (this.mode === "hang") return new Promise(() => {});
    return Promise.resolve({ username: "iam-user-01", password: `token-${++this.minted}` });
  }
  refresh(): Promise<{ username: string; password: string }> {
    return this.credentials();
  }
}

Deno.test("close() returns within a second when the server never answers; the commands fail with ConnectionClosedError", async () => {
  const timers = new FakeTimers();
  const transport = scriptedTransport((command, peer) => {
    const handshake = handshakeReply(command);
    if (handshake !== undefined) peer.reply(handshake); // everything else: silence
  });
  const client = await connect({
    host: "127.0.0.1",
    transport,
    commandTimeout: Infinity,
    now: timers.now,
    timers,
  });
  const pending = [client.get("a"), client.get("b")].map((p) => p.catch((error) => error));
  const closing = client.close();
  await settle();
  timers.advance(999);
  await settle();
  let closed = false;
  closing.then(() => closed = true);
  await settle();
  assert.equal(closed, false, "it waits a second for replies");
  timers.advance(1);
  await closing;
  for (const error of await Promise.all(pending)) {
    assert.ok(error instanceof ConnectionClosedError, String(error));
  }
});

Deno.test("close() waits as long as replies keep arriving", async () => {
  const timers = new FakeTimers();
  const held: (() => void)[] = [];
  const transport = scriptedTransport((command, peer) => {
    const handshake = handshakeReply(command);
    if (handshake !== undefined) return peer.reply(handshake);
    held.push(() => peer.reply("+OK\r\n"));
  });
  const client = await connect({ host: "127.0.0.1", transport, now: timers.now, timers });
  const pending = [1, 2, 3].map((i) => client.set(`k${i}`, "v"));
  const closing = client.close();
  await settle();
  for (const answer of held) {
    timers.advance(900); // under a second between replies
    answer();
    await settle();
  }
  await closing;
  assert.deepEqual(await Promise.all(pending), ["OK", "OK", "OK"]);
});

Deno.test("close() returns at once while a reconnect waits on a stalled credentials source", async () => {
  const auth = new ControlledAuth();
  const transport = scriptedTransport((command, peer) => {
    peer.reply(handshakeReply(command) ?? "+PONG\r\n");
  });
  const client = await connect({ host: "127.0.0.1", transport, auth });
  assert.equal(await client.ping(), "PONG");
  auth.mode = "hang";
  transport.peers[0]!.end(); // the server goes away; the next command reconnects
  const waiting = client.ping().catch((error) => error);
  await settle();
  assert.equal(transport.peers.length, 2, "the reconnect opened a socket and waits for a token");
  const started = performance.now();
  await client.close();
  assert.ok(performance.now() - started < 200, "close() did not wait for the provider");
  const error = await waiting;
  assert.ok(error instanceof ConnectionClosedError, String(error));
  assert.match(error.message, /the client is closed/);
  assert.ok(transport.peers[1]!.ended, "the half-open connection was closed");
});

Deno.test("a re-authentication whose provider never answers fails after the step timeout and is retried", async () => {
  const timers = new FakeTimers();
  const auth = new ControlledAuth();
  const errors: Error[] = [];
  const transport = scriptedTransport((command, peer) => {
    peer.reply(handshakeReply(command) ?? "+PONG\r\n");
  });
  await using client = await connect({
    host: "127.0.0.1",
    transport,
    auth,
    reauthAfter: 60_000,
    now: timers.now,
    timers,
    onError: (error) => errors.push(error),
  });
  auth.mode = "hang";
  timers.advance(60_000);
  await settle();
  assert.equal(auth.calls, 2);
  timers.advance(AUTH_STEP_TIMEOUT);
  await settle();
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof TimeoutError);
  assert.match(
    errors[0]!.message,
    /^Cannot re-authenticate the connection to 127\.0\.0\.1:6379: no answer within 30000 ms$/,
  );
  assert.equal(await client.ping(), "PONG", "the connection keeps working meanwhile");
  auth.mode = "answer";
  timers.advance(1000); // the retry, 0.5 to 1 s later
  await settle();
  assert.equal(auth.calls, 3);
  const auths = transport.peers[0]!.commands.filter((command) => command[0] === "AUTH");
  assert.deepEqual(auths.map((command) => command[2]), ["token-2"]);
  assert.equal(errors.length, 1);
});

Deno.test("a connection that reaches the 12-hour cut after a failed re-auth fails its next command with that failure, then reconnects", async () => {
  const timers = new FakeTimers();
  const auth = new ControlledAuth();
  let refuse = false;
  const transport = scriptedTransport((command, peer) => {
    if (command[0] === "AUTH" && refuse) return peer.reply(WRONGPASS);
    peer.reply(handshakeReply(command) ?? "+PONG\r\n");
  });
  await using client = await connect({
    host: "127.0.0.1",
    transport,
    auth,
    reauthAfter: 11 * 3_600_000,
    now: timers.now,
    timers,
    // no onError: the failure must not be lost anyway
  });
  refuse = true;
  timers.advance(11 * 3_600_000);
  await settle();
  assert.equal(await client.ping(), "PONG", "before the cut the connection still works");
  // The retries keep failing until the cut.
  for (let t = 11 * 3_600_000; t < CONNECTION_MAX_AGE; t += 60_000) {
    timers.advance(60_000);
    await settle();
  }
  const error = await client.ping().catch((e) => e);
  assert.ok(error instanceof ConnectionClosedError, String(error));
  assert.match(
    error.message,
    /^Connection to 127\.0\.0\.1:6379 closed: its IAM authentication reached the server's 12-hour limit, and re-authenticating it failed: Cannot authenticate to '127\.0\.0\.1:6379' as 'iam-user-01': the server refused the IAM auth token, also after minting a fresh one/,
  );
  assert.ok(error.cause instanceof AuthenticationError);
  assert.doesNotMatch(error.message + String(error.cause), /token-\d/);
  // The next command opens a new connection with a fresh token.
  refuse = false;
  assert.equal(await client.ping(), "PONG");
  assert.equal(transport.peers.length, 2);
});

Deno.test("with re-authentication off, a connection past the cut is replaced before the next command", async () => {
  const timers = new FakeTimers();
  const auth = new ControlledAuth();
  const transport = scriptedTransport((command, peer) => {
    peer.reply(handshakeReply(command) ?? "+PONG\r\n");
  });
  await using client = await connect({
    host: "127.0.0.1",
    transport,
    auth,
    reauthAfter: false,
    now: timers.now,
    timers,
  });
  timers.advance(CONNECTION_MAX_AGE);
  assert.equal(await client.ping(), "PONG", "no command fails: nothing went wrong");
  assert.equal(transport.peers.length, 2);
  assert.ok(transport.peers[0]!.ended);
  assert.deepEqual(transport.peers[1]!.commands.at(0)?.slice(0, 4), [
    "HELLO",
    "3",
    "AUTH",
    "iam-user-01",
  ]);
  assert.equal(transport.peers[1]!.commands.at(0)?.[4], "token-2");
});

Deno.test("without onError, a subscription listener's exception reaches the runtime's uncaught-error path, not the void", async () => {
  const transport = scriptedTransport((command, peer) => {
    const handshake = handshakeReply(command);
    if (handshake !== undefined) return peer.reply(handshake);
    if (command[0] === "SUBSCRIBE") {
      peer.reply(">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
      peer.reply(">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n");
    }
    if (command[0] === "UNSUBSCRIBE") {
      peer.reply(">3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:0\r\n");
    }
  });
  const uncaught: unknown[] = [];
  const onUncaught = (event: ErrorEvent) => {
    event.preventDefault();
    uncaught.push(event.error);
  };
  globalThis.addEventListener("error", onUncaught);
  try {
    await using client = await connect({ host: "127.0.0.1", transport });
    await using _subscription = await client.subscribe("news", () => {
      throw new Error("listener bug");
    });
    await settle();
    assert.equal(uncaught.length, 1);
    assert.equal((uncaught[0] as Error).message, "listener bug");
  } finally {
    globalThis.removeEventListener("error", onUncaught);
  }
});
