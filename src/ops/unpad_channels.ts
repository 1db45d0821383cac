/**
 * UnpadChannels: an 8-bit NHWC4 tensor [N, H, W, Cp] (nhwc4.ts) back to NHWC [N, H, W, C],
 * dropping the padding channels; attribute `channels` is C. The TFLite importer inserts it
 * where an int8 tensor whose channels are not a multiple of 4 leaves the int8 ops (a graph
 * output, a RESHAPE, a DEQUANTIZE). The inverse of PadChannels (pad_channels.ts); shares its
 * kernel with UnpackNhwc (nhwc4_repack.ts).
 *
 * @module
 */

import { unpackOp } from "./nhwc4_repack.ts";
import type { OpDef } from "./op.ts";

/** UnpadChannels: 8-bit NHWC4 to NHWC. */
export const unpadChannelsOp: OpDef = unpackOp("UnpadChannels", "nhwc");
