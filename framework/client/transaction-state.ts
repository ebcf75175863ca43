/**
 * The transactional producer's state machine, checked on every call (the
 * idea of kafkajs's eosManager, plus the states it lacks: ABORTABLE,
 * NEEDS_REINIT and the terminal FENCED / FATAL / CLOSED).
 *
 *   UNINITIALIZED ─init─▶ INITIALIZING ─ok─▶ READY ◀──────────────┐
 *                              │  ▲            │ begin            │ ok
 *                  retriable ──┘  │ init       ▼                  │
 *                     ▼           │      IN_TRANSACTION ─commit─▶ COMMITTING
 *                NEEDS_REINIT ────┘        │send fails  │abort       │ fails (ambiguous
 *                     ▲                    ▼            ▼            │  or retriable)
 *                     │               ABORTABLE ─abort─▶ ABORTING ───┤
 *                     └──────────── abort fails ─────────────────────┘
 *
 *   any state ─fenced error─▶ FENCED   any state ─fatal error─▶ FATAL
 *   any state ─close─▶ CLOSED           (all three terminal)
 *
 * NEEDS_REINIT exists because a kafkajs producer whose EndTxn failed is
 * stuck: its eosManager stays in COMMITTING/ABORTING and refuses every later
 * call. The only way out is to discard it and run InitProducerId with a new
 * one, which makes the coordinator complete a prepared commit or abort the
 * open transaction (KIP-98), so the outcome is settled before the task reads
 * its committed offsets again.
 */
import type { TransactionState } from './types.ts';
import { IllegalTransactionStateError } from './errors.ts';

export const TRANSACTION_TRANSITIONS: Readonly<
  Record<TransactionState, readonly TransactionState[]>
> = {
  UNINITIALIZED: ['INITIALIZING', 'CLOSED'],
  INITIALIZING: ['READY', 'NEEDS_REINIT', 'FENCED', 'FATAL', 'CLOSED'],
  READY: ['INITIALIZING', 'IN_TRANSACTION', 'FENCED', 'FATAL', 'CLOSED'],
  IN_TRANSACTION: ['COMMITTING', 'ABORTING', 'ABORTABLE', 'FENCED', 'FATAL', 'CLOSED'],
  COMMITTING: ['READY', 'NEEDS_REINIT', 'FENCED', 'FATAL', 'CLOSED'],
  ABORTING: ['READY', 'NEEDS_REINIT', 'FENCED', 'FATAL', 'CLOSED'],
  ABORTABLE: ['ABORTING', 'INITIALIZING', 'FENCED', 'FATAL', 'CLOSED'],
  NEEDS_REINIT: ['INITIALIZING', 'FENCED', 'FATAL', 'CLOSED'],
  FENCED: ['CLOSED'],
  FATAL: ['CLOSED'],
  CLOSED: [],
};

/** The states each operation may start from. */
export const OPERATION_STATES = {
  init: ['UNINITIALIZED', 'READY', 'ABORTABLE', 'NEEDS_REINIT'],
  begin: ['READY'],
  send: ['IN_TRANSACTION'],
  sendOffsets: ['IN_TRANSACTION'],
  commit: ['IN_TRANSACTION'],
  abort: ['IN_TRANSACTION', 'ABORTABLE'],
} as const satisfies Record<string, readonly TransactionState[]>;

export type TransactionOperation = keyof typeof OPERATION_STATES;

export class TransactionStateMachine {
  #state: TransactionState = 'UNINITIALIZED';
  readonly #onChange: (from: TransactionState, to: TransactionState) => void;

  constructor(onChange: (from: TransactionState, to: TransactionState) => void = () => {}) {
    this.#onChange = onChange;
  }

  get state(): TransactionState {
    return this.#state;
  }

  isTerminal(): boolean {
    return this.#state === 'FENCED' || this.#state === 'FATAL' || this.#state === 'CLOSED';
  }

  /** Throws IllegalTransactionStateError unless `operation` is allowed now. */
  check(operation: TransactionOperation): void {
    const allowed: readonly TransactionState[] = OPERATION_STATES[operation];
    if (!allowed.includes(this.#state))
      throw new IllegalTransactionStateError(operation, this.#state);
  }

  transition(to: TransactionState): void {
    const from = this.#state;
    if (from === to) return;
    if (!TRANSACTION_TRANSITIONS[from].includes(to)) {
      throw new IllegalTransactionStateError(`transition to ${to}`, from);
    }
    this.#state = to;
    this.#onChange(from, to);
  }
}
