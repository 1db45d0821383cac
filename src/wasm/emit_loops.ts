/**
 * Emitters for the loop shapes the generated CPU kernels share (conv_kernel.ts,
 * pool_kernel.ts, stage_kernel.ts, gemm_kernel.ts): a guarded while loop, pointer bumps, the
 * walk over a contiguous run of floats in f32x4 vectors with a scalar tail, and the moves
 * that copy a short fixed run.
 *
 * @module
 */

import type { FunctionBody, MemoryOp } from "./function_body.ts";

/**
 * Emits `while (ptr < end) { body; }` for a `body` that advances `ptr` (the test runs before
 * the first pass too).
 */
export function whileBelow(f: FunctionBody, ptr: number, end: number, body: () => void): void {
  f.block();
  f.localGet(ptr).localGet(end).op("i32.lt_u").op("i32.eqz").brIf(0);
  f.loop();
  body();
  f.localGet(ptr).localGet(end).op("i32.lt_u").brIf(0);
  f.end();
  f.end();
}

/** Emits `counter = 0` and opens the loop that `endCountingLoop` closes. */
export function beginCountingLoop(f: FunctionBody, counter: number): void {
  f.i32Const(0).localSet(counter);
  f.loop();
}

/**
 * Closes a loop opened by `beginCountingLoop`: `counter += 1`, and another pass while it is
 * below the i32 local `limit` (the body runs at least once).
 */
export function endCountingLoop(f: FunctionBody, counter: number, limit: number): void {
  advance(f, counter, { const: 1 });
  f.localGet(counter).localGet(limit).op("i32.lt_u").brIf(0);
  f.end();
}

/** Emits `local += step` for an i32 local and a constant or another local's value. */
export function advance(
  f: FunctionBody,
  local: number,
  step: { const: number } | { local: number },
) {
  f.localGet(local);
  if ("const" in step) f.i32Const(step.const);
  else f.localGet(step.local);
  f.op("i32.add").localSet(local);
}

/** Emits `local = a * b + plus` for i32 locals. */
export function multiplyAdd(f: FunctionBody, local: number, a: number, b: number, plus: number) {
  f.localGet(a).localGet(b).op("i32.mul").localGet(plus).op("i32.add").localSet(local);
}

/**
 * Emits a walk over a run of `count` floats: `ptrs` are i32 locals holding the destination,
 * then the run's first source (the walk ends when it has moved `count` floats), then any
 * other pointers to advance alike, by 16 bytes per vector and 4 per scalar. `vector()` must
 * push one v128 to store at the destination, `scalar()` one f32. `count` is an i32 local;
 * `end` and `vecEnd` are scratch i32 locals.
 */
export function walkRun(
  f: FunctionBody,
  ptrs: readonly number[],
  count: number,
  end: number,
  vecEnd: number,
  vector: () => void,
  scalar: () => void,
): void {
  const [dst, src] = ptrs;
  f.localGet(src).localGet(count).i32Const(4).op("i32.mul").op("i32.add").localSet(end);
  f.localGet(src).localGet(count).i32Const(-4).op("i32.and").i32Const(4).op("i32.mul");
  f.op("i32.add").localSet(vecEnd);
  const step = (bytes: number, store: () => void) => {
    f.localGet(dst);
    store();
    for (const p of ptrs) advance(f, p, { const: bytes });
  };
  whileBelow(f, src, vecEnd, () => step(16, () => (vector(), f.memory("v128.store"))));
  whileBelow(f, src, end, () => step(4, () => (scalar(), f.memory("f32.store"))));
}

/**
 * The moves that copy `width` contiguous floats: 16-, 8- and 4-byte load/store pairs with
 * their byte offsets, largest first.
 */
export function copyMoves(width: number): [load: MemoryOp, store: MemoryOp, offset: number][] {
  const moves: [MemoryOp, MemoryOp, number][] = [];
  for (let o = 0; o < width * 4;) {
    const size = Math.min(16, 4 * 2 ** Math.floor(Math.log2(width - o / 4)));
    if (size === 16) moves.push(["v128.load", "v128.store", o]);
    else if (size === 8) moves.push(["i64.load", "i64.store", o]);
    else moves.push(["f32.load", "f32.store", o]);
    o += size;
  }
  return moves;
}

/** [0, 1, ..., n - 1]. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
