/**
 * Hostile input for the emulator's token check, without sockets: valid
 * tokens for each cache and key kind, mutated (parameters dropped, repeated,
 * renamed, re-valued, reordered, re-encoded; host, shape, user name, time;
 * truncation, junk, double encoding, oversized) and checked at random times
 * around their validity. A token is only ever accepted when it is the same
 * signed request as a valid one (see `_token_mutator.ts`) and used within
 * its lifetime and its keys'; the check never throws or fails internally;
 * the unmutated and the reordered forms are accepted.
 *
 * CI size: 10,000 attempts. Nightly (`FUZZ_SIZE=long`): 300,000.
 */

import assert from "node:assert/strict";
import { verifyAuthToken } from "../src/auth_token_verifier.ts";
import { resolveConfig } from "../src/config.ts";
import { CredentialStore } from "../src/credential_store.ts";
import {
  EXPIRES_IN,
  FUZZ_CONFIG,
  MAX_SKEW_MS,
  SIGNED_AT,
  validAt,
  validAttempts,
} from "../../../tests/fuzz/_auth_fixtures.ts";
import { ONLY_CASE, Prng, replay, report, SEED, sized } from "../../../tests/fuzz/_prng.ts";
import { equivalent, garbageAttempt, mutateAttempt } from "../../../tests/fuzz/_token_mutator.ts";

const FILE = "tests/fuzz/token_verifier_fuzz_test.ts";
const ATTEMPTS = sized(10_000, 300_000);

Deno.test(`token verifier: ${ATTEMPTS} mutated tokens, never accepted unless equivalent and current`, async () => {
  const config = resolveConfig(FUZZ_CONFIG, "http://127.0.0.1:1");
  const credentials = new CredentialStore(config);
  const valid = await validAttempts();
  const started = performance.now();
  let accepted = 0;
  let equivalents = 0;
  const reasons = new Map<string, number>();
  const first = ONLY_CASE ?? 0;
  const last = ONLY_CASE ?? ATTEMPTS - 1;
  for (let index = first; index <= last; index++) {
    const rng = new Prng(SEED, index);
    const base = rng.pick(valid);
    const roll = rng.float();
    const attempt = roll < 0.05
      ? { ...base, how: ["intact"] }
      : roll < 0.1
      ? garbageAttempt(rng)
      : mutateAttempt(rng, base);
    const now = pickTime(rng);
    const verdict = await verifyAuthToken(attempt.user, attempt.token, {
      config,
      credentials,
      now,
    });
    const same = equivalent(base, attempt);
    const current = validAt(base, now);
    const where = () =>
      `case ${index}: ${attempt.how.join(", ")}; user ${JSON.stringify(attempt.user)}, ` +
      `token ${JSON.stringify(attempt.token.slice(0, 400))}, now ${new Date(now).toISOString()}\n` +
      replay(index, FILE);
    if (verdict.ok) {
      accepted++;
      assert.ok(same && current, `accepted a token it must refuse: ${where()}`);
      assert.equal(verdict.user.userId, base.user, `authenticated the wrong user: ${where()}`);
    } else {
      assert.equal(typeof verdict.reason, "string");
      assert.doesNotMatch(verdict.reason, /could not be checked/, `the check broke: ${where()}`);
      const key = verdict.reason.replace(/'[^']*'/g, "'…'").replace(
        /\d{8}T\d{6}Z|[\d-]+T[\d:.]+Z/g,
        "…",
      )
        .slice(0, 60);
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
      const mustAccept = same && current &&
        attempt.how.every((how) =>
          how === "intact" || how === "reorder" || how === "lowercase hex"
        );
      assert.ok(
        !mustAccept,
        `refused an equivalent, current token (${verdict.reason}): ${where()}`,
      );
    }
    if (same) equivalents++;
  }
  const ms = performance.now() - started;
  report(
    `token verifier: seed ${SEED}, ${last - first + 1} attempts in ${(ms / 1000).toFixed(1)} s ` +
      `(${Math.round((last - first + 1) / (ms / 1000))}/s), ${accepted} accepted, ` +
      `${equivalents} equivalent, ${reasons.size} distinct refusal reasons`,
  );
});

/** Mostly inside the validity window, sometimes at or just past its edges, sometimes far off. */
function pickTime(rng: Prng): number {
  const end = SIGNED_AT + EXPIRES_IN * 1000;
  switch (rng.int(8)) {
    case 0:
      return SIGNED_AT - MAX_SKEW_MS - rng.range(1, 10_000);
    case 1:
      return SIGNED_AT - MAX_SKEW_MS + rng.range(0, 1000);
    case 2:
      return end + rng.range(1, 10_000);
    case 3:
      return end - rng.range(0, 1000);
    case 4:
      return rng.pick([0, -1, 8.64e15, SIGNED_AT + 365 * 86_400_000]);
    default:
      return SIGNED_AT + rng.range(0, EXPIRES_IN * 1000);
  }
}
