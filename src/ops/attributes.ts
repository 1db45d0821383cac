/**
 * Validated access to a node's attributes and inputs for the op files: every error names the
 * op and node and quotes the offending value.
 *
 * @module
 */

import type { AttrValue, DType, Node, TensorType } from "../graph/types.ts";

/** How errors name a node: `MaxPool "pool1"`. */
export function nodeLabel(node: Pick<Node, "op" | "name">): string {
  return `${node.op} "${node.name}"`;
}

function attrError(node: Node, name: string, want: string, got: AttrValue): Error {
  return new Error(
    `${nodeLabel(node)}: attribute ${name} must be ${want}, got ${JSON.stringify(got)}`,
  );
}

function missing(node: Node, name: string): Error {
  return new Error(`${nodeLabel(node)}: required attribute ${name} is missing`);
}

/** Integer attribute `name`, or `fallback` when absent (required when no fallback). */
export function intAttr(node: Node, name: string, fallback?: number): number {
  const value = node.attrs[name];
  if (value === undefined) {
    if (fallback === undefined) throw missing(node, name);
    return fallback;
  }
  if (!Number.isInteger(value)) throw attrError(node, name, "an integer", value);
  return value as number;
}

/** Integer-list attribute `name`, or `fallback` when absent (required when no fallback). */
export function intsAttr(node: Node, name: string, fallback?: readonly number[]): number[] {
  const value = node.attrs[name];
  if (value === undefined) {
    if (fallback === undefined) throw missing(node, name);
    return [...fallback];
  }
  if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v))) {
    throw attrError(node, name, "a list of integers", value);
  }
  return [...value as number[]];
}

/** Number attribute `name`, or `fallback` when absent; NaN is rejected. */
export function floatAttr(node: Node, name: string, fallback: number): number {
  const value = node.attrs[name];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw attrError(node, name, "a number", value);
  }
  return value;
}

/** String attribute `name`, one of `allowed`, or `fallback` when absent. */
export function stringAttr<T extends string>(
  node: Node,
  name: string,
  allowed: readonly T[],
  fallback?: T,
): T {
  const value = node.attrs[name];
  if (value === undefined) {
    if (fallback === undefined) throw missing(node, name);
    return fallback;
  }
  if (typeof value !== "string" || !allowed.includes(value as T)) {
    throw attrError(node, name, `one of ${allowed.join(", ")}`, value);
  }
  return value as T;
}

/**
 * Resolves a possibly negative `axis` against `rank` (valid range [-rank, rank-1]); `what`
 * names it in the error, e.g. "axis" or "axes[1]".
 */
export function normalizeAxis(node: Node, what: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new Error(
      `${nodeLabel(node)}: ${what} ${axis} is out of range for rank ${rank} ` +
        `(valid: ${-rank} to ${rank - 1})`,
    );
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * Checks that the node has between `count[0]` and `count[1]` inputs (a number means exactly
 * that many), all present and of one of `dtypes`; returns their types.
 */
export function requireInputs(
  node: Node,
  inputs: readonly (TensorType | undefined)[],
  count: number | [number, number],
  dtypes: readonly DType[],
): TensorType[] {
  const [min, max] = typeof count === "number" ? [count, count] : count;
  if (inputs.length < min || inputs.length > max) {
    const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw new Error(`${nodeLabel(node)}: needs ${want} inputs, got ${inputs.length}`);
  }
  return inputs.map((t, i) => {
    if (!t) throw new Error(`${nodeLabel(node)}: input ${i} is absent`);
    if (!dtypes.includes(t.dtype)) {
      throw new Error(
        `${nodeLabel(node)}: input ${i} must be ${dtypes.join(" or ")}, got ${t.dtype}`,
      );
    }
    return t;
  });
}

/** Checks that the node names exactly `count` outputs. */
export function requireOutputs(node: Node, count: number): void {
  if (node.outputs.length !== count) {
    throw new Error(
      `${nodeLabel(node)}: needs ${count} output${count === 1 ? "" : "s"}, got ` +
        `${node.outputs.length} (${JSON.stringify(node.outputs)})`,
    );
  }
}

/** Checks that every input has the dtype of input 0. */
export function requireSameDtype(node: Node, inputs: readonly TensorType[]): void {
  inputs.forEach((t, i) => {
    if (t.dtype !== inputs[0].dtype) {
      throw new Error(
        `${nodeLabel(node)}: input ${i} is ${t.dtype} but input 0 is ${inputs[0].dtype}`,
      );
    }
  });
}
