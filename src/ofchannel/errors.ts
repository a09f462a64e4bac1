// The one protocol error type. Every failure that OpenFlow reports back to the peer is an
// OfpError carrying the (type, code) pair to put on the wire; the mapping from "what went wrong"
// to that pair lives here and nowhere else.
import {
  ERROR_CODES,
  OFPBAC,
  OFPBRC,
  OFPET,
  OFPFMFC,
  OFPHFC,
  OFPPMFC,
  OFPQOFC,
  OFPT,
  type ErrorType,
} from "./constants.js";
import type { MessageOf } from "./messages.js";

/** OF1.0 echoes at most this many bytes of the offending request in an OFPT_ERROR. */
export const ERROR_DATA_LEN = 64;

const TYPE_PREFIX = "OFPET_";
const CODE_PREFIX: Readonly<Record<ErrorType, string>> = {
  [OFPET.HELLO_FAILED]: "OFPHFC_",
  [OFPET.BAD_REQUEST]: "OFPBRC_",
  [OFPET.BAD_ACTION]: "OFPBAC_",
  [OFPET.FLOW_MOD_FAILED]: "OFPFMFC_",
  [OFPET.PORT_MOD_FAILED]: "OFPPMFC_",
  [OFPET.QUEUE_OP_FAILED]: "OFPQOFC_",
};

function keyOf(table: Readonly<Record<string, number>>, value: number): string | undefined {
  for (const k in table) if (table[k] === value) return k;
  return undefined;
}

/** "OFPET_BAD_REQUEST/OFPBRC_BAD_LEN"; unknown numbers are printed as such. */
export function errorPairName(errType: number, code: number): string {
  const typeKey = keyOf(OFPET, errType);
  if (typeKey === undefined) return `OFPET_${errType}/${code}`;
  const t = errType as ErrorType;
  const codeKey = keyOf(ERROR_CODES[t], code);
  return `${TYPE_PREFIX}${typeKey}/${codeKey === undefined ? code : CODE_PREFIX[t] + codeKey}`;
}

type CodeOf<T extends Readonly<Record<string, number>>> = T[keyof T];

export class OfpError extends Error {
  override readonly name = "OfpError";
  /** e.g. "OFPET_BAD_REQUEST/OFPBRC_BAD_LEN". */
  readonly pair: string;

  constructor(
    readonly errType: number,
    readonly code: number,
    /** The first 64 bytes of the offending message (empty when there is none). */
    readonly data: Buffer = Buffer.alloc(0),
    readonly detail = "",
  ) {
    const pair = errorPairName(errType, code);
    super(detail ? `${pair}: ${detail}` : pair);
    this.pair = pair;
  }

  /** The same error, carrying the first 64 bytes of `message` as its data. */
  withData(message: Buffer): OfpError {
    return new OfpError(this.errType, this.code, copyPrefix(message), this.detail);
  }

  static helloFailed(code: CodeOf<typeof OFPHFC>, text: string): OfpError {
    // HELLO_FAILED carries a human-readable ASCII explanation instead of the request.
    return new OfpError(OFPET.HELLO_FAILED, code, Buffer.from(text, "latin1"), text);
  }

  static badRequest(code: CodeOf<typeof OFPBRC>, detail = "", message?: Buffer): OfpError {
    return new OfpError(OFPET.BAD_REQUEST, code, copyPrefix(message), detail);
  }

  static badAction(code: CodeOf<typeof OFPBAC>, detail = "", message?: Buffer): OfpError {
    return new OfpError(OFPET.BAD_ACTION, code, copyPrefix(message), detail);
  }

  static flowModFailed(code: CodeOf<typeof OFPFMFC>, detail = "", message?: Buffer): OfpError {
    return new OfpError(OFPET.FLOW_MOD_FAILED, code, copyPrefix(message), detail);
  }

  static portModFailed(code: CodeOf<typeof OFPPMFC>, detail = "", message?: Buffer): OfpError {
    return new OfpError(OFPET.PORT_MOD_FAILED, code, copyPrefix(message), detail);
  }

  static queueOpFailed(code: CodeOf<typeof OFPQOFC>, detail = "", message?: Buffer): OfpError {
    return new OfpError(OFPET.QUEUE_OP_FAILED, code, copyPrefix(message), detail);
  }
}

/** A copy (not a view: the stream buffer may be reused) of at most the first 64 bytes. */
function copyPrefix(message: Buffer | undefined): Buffer {
  if (message === undefined) return Buffer.alloc(0);
  return Buffer.from(message.subarray(0, ERROR_DATA_LEN));
}

/** The OFPT_ERROR to send for `err`. The xid is the offending message's (read from the
 * header in `err.data`) unless given; 0 when neither is known. */
export function errorToMessage(err: OfpError, xid?: number): MessageOf<typeof OFPT.ERROR> {
  const echoed =
    xid ??
    (err.data.length >= 8 && err.errType !== OFPET.HELLO_FAILED ? err.data.readUInt32BE(4) : 0);
  return { type: OFPT.ERROR, xid: echoed, errType: err.errType, code: err.code, data: err.data };
}
