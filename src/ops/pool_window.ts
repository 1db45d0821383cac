/**
 * Sliding-window geometry of 2-D pooling with ONNX attributes: `kernel_shape`, `strides`,
 * `dilations`, `pads` ([top, left, bottom, right]), `auto_pad` and `ceil_mode`.
 *
 * Output size per axis, with effective kernel e = (k - 1) * d + 1:
 * - NOTSET and VALID (VALID means zero pads): out = floor((in + begin + end - e) / s) + 1,
 *   or ceil instead of floor with `ceil_mode`, in which case a last window that would start
 *   past the input and the leading padding (at or after in + begin) is dropped, as ONNX
 *   Runtime and PyTorch do.
 * - SAME_UPPER / SAME_LOWER: out = ceil(in / s) and the total padding
 *   max(0, (out - 1) * s + e - in) is split evenly, the odd unit at the end (UPPER) or the
 *   beginning (LOWER).
 *
 * Every window must contain at least one input element; geometry where one covers only
 * padding is rejected (its max would be undefined and its in-bounds mean a division by 0).
 *
 * @module
 */

import type { Node } from "../graph/types.ts";
import { intAttr, intsAttr, nodeLabel, stringAttr } from "./attributes.ts";

const AUTO_PADS = ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"] as const;

/** One spatial axis of a pooling window. */
export interface WindowAxis {
  /** Input size. */
  size: number;
  /** Kernel size, stride and dilation. */
  kernel: number;
  stride: number;
  dilation: number;
  /** Padding before and after the input. */
  padBegin: number;
  padEnd: number;
  /** Output size. */
  out: number;
}

/** Validated pooling geometry: the H axis, then the W axis. */
export type PoolWindow = [WindowAxis, WindowAxis];

function positiveInts(node: Node, name: string, min: number, fallback?: number[]): number[] {
  const values = intsAttr(node, name, fallback);
  if (values.length !== 2 || values.some((v) => v < min)) {
    throw new Error(
      `${nodeLabel(node)}: ${name} must be 2 integers >= ${min}, got ${JSON.stringify(values)}`,
    );
  }
  return values;
}

/**
 * Reads and validates the pooling attributes of `node` for an input of spatial size
 * [h, w]. `dilations: false` rejects dilations other than 1 (AveragePool in opset 13).
 */
export function poolWindow(
  node: Node,
  [h, w]: readonly number[],
  { dilations }: { dilations: boolean },
): PoolWindow {
  const kernel = positiveInts(node, "kernel_shape", 1);
  const strides = positiveInts(node, "strides", 1, [1, 1]);
  const dils = positiveInts(node, "dilations", 1, [1, 1]);
  if (!dilations && dils.some((d) => d !== 1)) {
    throw new Error(`${nodeLabel(node)}: dilations are not supported, got [${dils}]`);
  }
  const pads = intsAttr(node, "pads", [0, 0, 0, 0]);
  if (pads.length !== 4 || pads.some((p) => p < 0)) {
    throw new Error(
      `${nodeLabel(node)}: pads must be 4 integers >= 0 ([top, left, bottom, right]), got ` +
        JSON.stringify(pads),
    );
  }
  const autoPad = stringAttr(node, "auto_pad", AUTO_PADS, "NOTSET");
  if (autoPad !== "NOTSET" && pads.some((p) => p !== 0)) {
    throw new Error(
      `${nodeLabel(node)}: pads [${pads}] cannot be combined with auto_pad ${autoPad}`,
    );
  }
  const ceilMode = intAttr(node, "ceil_mode", 0);
  if (ceilMode !== 0 && ceilMode !== 1) {
    throw new Error(`${nodeLabel(node)}: ceil_mode must be 0 or 1, got ${ceilMode}`);
  }
  return [0, 1].map((i) => {
    const size = [h, w][i];
    const axis = { size, kernel: kernel[i], stride: strides[i], dilation: dils[i] };
    const extent = (axis.kernel - 1) * axis.dilation + 1;
    let padBegin = pads[i];
    let padEnd = pads[i + 2];
    let out: number;
    if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
      out = Math.ceil(size / axis.stride);
      const total = Math.max(0, (out - 1) * axis.stride + extent - size);
      padBegin = autoPad === "SAME_UPPER" ? Math.floor(total / 2) : Math.ceil(total / 2);
      padEnd = total - padBegin;
    } else {
      const span = size + padBegin + padEnd - extent;
      if (span < 0) {
        throw new Error(
          `${nodeLabel(node)}: the window (kernel ${axis.kernel}, dilation ${axis.dilation}) ` +
            `is larger than the padded input (${size} + pads ${padBegin}, ${padEnd})`,
        );
      }
      out = (ceilMode ? Math.ceil(span / axis.stride) : Math.floor(span / axis.stride)) + 1;
      if (ceilMode && (out - 1) * axis.stride >= size + padBegin) out--;
    }
    const result = { ...axis, padBegin, padEnd, out };
    checkWindowsTouchInput(node, result, i === 0 ? "H" : "W");
    return result;
  }) as PoolWindow;
}

/** Throws when some window of `axis` holds no input element, only padding. */
function checkWindowsTouchInput(node: Node, axis: WindowAxis, name: string): void {
  for (let o = 0; o < axis.out; o++) {
    const start = o * axis.stride - axis.padBegin;
    let touches = false;
    for (let k = 0; k < axis.kernel && !touches; k++) {
      const i = start + k * axis.dilation;
      touches = i >= 0 && i < axis.size;
    }
    if (!touches) {
      throw new Error(
        `${nodeLabel(node)}: output ${o} along ${name} pools only padding (input ${axis.size}, ` +
          `kernel ${axis.kernel}, stride ${axis.stride}, dilation ${axis.dilation}, pads ` +
          `${axis.padBegin}, ${axis.padEnd})`,
      );
    }
  }
}

/**
 * The number of window positions of output `o` inside the padded input
 * [-padBegin, size + padEnd) along `axis` (dilation 1): AveragePool's divisor factor with
 * `count_include_pad`.
 */
export function paddedWindowCount(axis: WindowAxis, o: number): number {
  const start = o * axis.stride - axis.padBegin;
  return Math.min(start + axis.kernel, axis.size + axis.padEnd) - start;
}
