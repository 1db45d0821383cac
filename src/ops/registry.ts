/**
 * The single map from op type to its definition. An op file adds itself to `OP_DEFS`.
 *
 * @module
 */

import type { Node } from "../graph/types.ts";
import type { OpDef } from "./op.ts";
import { relu } from "./relu.ts";

/** Every op definition resin has, one entry per op file (keep sorted by op name). */
const OP_DEFS: readonly OpDef[] = [
  relu,
];

const BY_OP = new Map<string, OpDef>(OP_DEFS.map((def) => [def.op, def]));

/** True when resin has a definition for `op`. */
export function hasOp(op: string): boolean {
  return BY_OP.has(op);
}

/** Op types resin supports, sorted. */
export function supportedOps(): string[] {
  return [...BY_OP.keys()].sort();
}

/** Returns the definition for `node`'s op, or throws an error naming the node and op. */
export function opFor(node: Node): OpDef {
  const def = BY_OP.get(node.op);
  if (!def) {
    throw new Error(
      `Unsupported op "${node.op}" in node "${node.name}"; supported ops: ${
        supportedOps().join(", ")
      }`,
    );
  }
  return def;
}
