/**
 * Command timeouts: a command on a silent peer fails `commandTimeout` after
 * it was written, measured on the steady clock; a blocking command gets the
 * time it asked the server for on top, read from its real timeout argument;
 * and what the connection tracks (a transaction, a command's blocking time)
 * follows only the commands the server really runs. A worker that blocks on
 * a queue for hours keeps its connection authenticated without a single
 * false failure.
 */

import assert from "node:assert/strict";
import { connect } from "../src/client.ts";
import { TimeoutError } from "../src/errors.ts";
import { FakeTimers } from "./_helpers/client_fake_timers.ts";
import {
  handshakeReply,
  type Script,
  type ScriptedPeer,
  scriptedTransport,
} from "./_helpers/scripted_transport.ts";
import { pass, settle, SteppedClock } from "./_helpers/stepped_clock.ts";

const HOUR = 3_600_000;
/** The default `commandTimeout`. */
const COMMAND_TIMEOUT = 5_000;

/** What a command's promise has come to so far. */
function watch(promise: Promise<unknown>): { outcome: unknown } {
  const state: { outcome: unknown } = { outcome: "pending" };
  promise.then((value) => state.outcome = value, (error) => state.outcome = error);
  return state;
}

/**
 * A client on `script` whose clocks are `clock`'s, with an idle connection:
 * the handshake's command timer has come and gone.
 */
async function idleClient(clock: SteppedClock, script: Script) {
  const transport = scriptedTransport((command, peer) => {
    const handshake = handshakeReply(command);
    if (handshake !== undefined) return peer.reply(handshake);
    script(command, peer);
  });
  const client = await connect({ host: "127.0.0.1", transport, now: clock.wall, timers: clock });
  await pass(clock, 10_000);
  return { client, transport };
}

Deno.test("a command on a silent peer times out commandTimeout after it was written, even right after an answered long BLPOP", async () => {
  const clock = new SteppedClock();
  let silent = false;
  const { client } = await idleClient(clock, (command, peer) => {
    if (silent) return; // the peer is gone, with no FIN
    if (command[0] === "BLPOP") return peer.reply("*2\r\n$1\r\nq\r\n$1\r\nv\r\n"); // served at once
    peer.reply("+OK\r\n");
  });
  // A 10-minute block answered at once must not leave its long deadline armed.
  assert.deepEqual(await client.send(["BLPOP", "q", "600"]), ["q", "v"]);
  silent = true;
  const get = watch(client.get("k"));
  await settle();
  await pass(clock, COMMAND_TIMEOUT + 1_000);
  assert.ok(get.outcome instanceof TimeoutError, `after 6 s the GET is ${String(get.outcome)}`);
  await client.close();
});

Deno.test("a wall-clock step back does not stretch a command's timeout on a silent peer", async () => {
  const clock = new SteppedClock();
  let silent = false;
  const { client } = await idleClient(clock, (_command, peer) => {
    if (!silent) peer.reply("+OK\r\n");
  });
  silent = true;
  const get = watch(client.get("k"));
  await settle();
  await pass(clock, 1_000);
  clock.step(-3 * HOUR); // NTP steps the wall clock back while the GET waits
  await pass(clock, COMMAND_TIMEOUT);
  assert.ok(
    get.outcome instanceof TimeoutError,
    `6 s after it was sent the GET is ${String(get.outcome)}`,
  );
  await client.close();
});

Deno.test("XREADGROUP with a group named 'block' keeps the time its real BLOCK option asks for", async () => {
  const clock = new SteppedClock();
  const { client } = await idleClient(clock, (_command, peer) => {
    // The server blocks 8 s (within BLOCK 10000), then answers that nothing came.
    clock.setTimeout(() => peer.reply("*-1\r\n"), 8_000);
  });
  const read = watch(
    client.send(["XREADGROUP", "GROUP", "block", "c1", "BLOCK", "10000", "STREAMS", "s", ">"]),
  );
  await settle();
  await pass(clock, 9_000);
  assert.equal(read.outcome, null, `the 8 s block ended with ${String(read.outcome)}`);
  await client.close();
});

for (
  const [what, args] of [
    ["a non-blocking XREAD over a stream key named 'block'", [
      "XREAD",
      "STREAMS",
      "a",
      "block",
      "0",
      "0",
    ]],
    [
      "a BLPOP whose timeout is written as 20 bytes (5.000000000000000000 s)",
      ["BLPOP", "q", new TextEncoder().encode("5.000000000000000000")],
    ],
  ] as const
) {
  Deno.test(`${what} still times out on a silent peer`, async () => {
    const clock = new SteppedClock();
    let silent = false;
    const { client } = await idleClient(clock, (_command, peer) => {
      if (!silent) peer.reply("*-1\r\n");
    });
    silent = true;
    const command = watch(client.send([...args]));
    await settle();
    await pass(clock, 60_000, 1_000);
    assert.ok(
      command.outcome instanceof TimeoutError,
      `after 60 s on a silent peer it is ${String(command.outcome)}`,
    );
    const closing = client.close();
    await pass(clock, 2_000);
    await closing;
  });
}

/** A peer that accepts everything, and blocks BLPOP 8 s before it answers `nil`. */
function blpopBlocks8s(clock: SteppedClock, refuseMulti = false): Script {
  return (command, peer) => {
    if (command[0] === "MULTI" && refuseMulti) {
      return peer.reply(
        "-NOPERM User iam-user-01 has no permissions to run the 'multi' command\r\n",
      );
    }
    if (command[0] === "BLPOP") {
      clock.setTimeout(() => peer.reply("*-1\r\n"), 8_000);
      return;
    }
    peer.reply("+OK\r\n");
  };
}

Deno.test("a MULTI that could not be encoded is not written and opens no transaction: a later BLPOP keeps its blocking time", async () => {
  const clock = new SteppedClock();
  const { client, transport } = await idleClient(clock, blpopBlocks8s(clock));
  await assert.rejects(client.send(["MULTI", NaN]), RangeError);
  assert.deepEqual(transport.peers[0]!.commands.map((command) => command[0]), ["HELLO"]);
  const blpop = watch(client.send(["BLPOP", "q", "10"]));
  await settle();
  await pass(clock, 9_000);
  assert.equal(blpop.outcome, null, `BLPOP q 10 ended with ${String(blpop.outcome)}`);
  await client.close();
});

Deno.test("a MULTI the server refused (NOPERM) opens no transaction: a later BLPOP keeps its blocking time", async () => {
  const clock = new SteppedClock();
  const { client } = await idleClient(clock, blpopBlocks8s(clock, true));
  await assert.rejects(client.send(["MULTI"]), /NOPERM/);
  const blpop = watch(client.send(["BLPOP", "q", "10"]));
  await settle();
  await pass(clock, 9_000);
  assert.equal(blpop.outcome, null, `BLPOP q 10 ended with ${String(blpop.outcome)}`);
  await client.close();
});

Deno.test("a MULTI that could not be encoded does not hold a due re-authentication back", async () => {
  const clock = new SteppedClock();
  let minted = 0;
  const auth = {
    credentials: () => Promise.resolve({ username: "u", password: `token-${++minted}` }),
  };
  const transport = scriptedTransport((command, peer) => {
    peer.reply(handshakeReply(command) ?? "+OK\r\n");
  });
  const errors: Error[] = [];
  const client = await connect({
    host: "127.0.0.1",
    transport,
    auth,
    reauthAfter: 60_000,
    now: clock.wall,
    timers: clock,
    onError: (error) => errors.push(error),
  });
  await assert.rejects(client.send(["MULTI", null as unknown as string]), TypeError);
  await pass(clock, 61_000, 1_000);
  const auths = transport.peers[0]!.commands.filter((command) => command[0] === "AUTH");
  assert.deepEqual(auths.map((command) => command[2]), ["token-2"], "re-authenticated on time");
  assert.deepEqual(errors, []);
  await client.close();
});

Deno.test("a worker blocked on BLPOP q 0 for 12.5 hours is re-authenticated with no false failure and no cut", async () => {
  const timers = new FakeTimers();
  let minted = 0;
  const auth = {
    credentials: () => Promise.resolve({ username: "u", password: `token-${++minted}` }),
  };
  // An in-order server: BLPOP blocks until a job arrives, and what follows waits behind it.
  let jobs = 0;
  const queues = new Map<ScriptedPeer, string[][]>();
  const serve = (peer: ScriptedPeer) => {
    const queue = queues.get(peer)!;
    while (queue.length > 0) {
      const command = queue[0]!;
      if (command[0] === "BLPOP") {
        if (jobs === 0) return;
        jobs--;
        peer.reply("*2\r\n$1\r\nq\r\n$3\r\njob\r\n");
      } else {
        peer.reply(handshakeReply(command) ?? "+OK\r\n");
      }
      queue.shift();
    }
  };
  const transport = scriptedTransport((command, peer) => {
    if (!queues.has(peer)) queues.set(peer, []);
    queues.get(peer)!.push(command);
    serve(peer);
  });
  const reported: Error[] = [];
  const client = await connect({
    host: "127.0.0.1",
    transport,
    auth,
    now: timers.now,
    timers,
    onError: (error) => reported.push(error),
  });
  const failures: Error[] = [];
  let served = 0;
  let stop = false;
  const worker = (async () => {
    while (!stop) {
      await client.send(["BLPOP", "q", "0"]).then(() => served++, (error) => failures.push(error));
    }
  })();
  for (let t = 0; t < 12.5 * HOUR; t += 10_000) {
    timers.advance(10_000);
    if (t % 600_000 === 300_000) {
      jobs++; // a job arrives every 10 minutes
      for (const peer of transport.peers) if (!peer.ended) serve(peer);
    }
    await settle();
  }
  stop = true;
  jobs++; // the last BLPOP gets a job, and the worker stops
  for (const peer of transport.peers) if (!peer.ended) serve(peer);
  await worker;
  const closing = client.close();
  timers.advance(2_000);
  await closing;
  assert.deepEqual(failures, [], "no BLPOP failed");
  assert.deepEqual(reported, [], "no re-authentication failed");
  assert.equal(served, 76, "every job was served");
  // The client's connection, and the blocking connection BLPOP runs on.
  assert.equal(transport.peers.length, 2, "two connections throughout: never cut");
  const auths = transport.peers[1]!.commands.filter((command) => command[0] === "AUTH");
  assert.ok(auths.length >= 1, "the connection was re-authenticated before the 12-hour cut");
});
