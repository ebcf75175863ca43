/**
 * Whatever has a task's state directory open on this worker: an incarnation of the active
 * task (StreamTask) or a standby (StandbyTask). Only one at a time may have the stores open,
 * so each new holder waits for the previous one to close before it opens them — the same
 * rule between a task's incarnations, and between a standby and the active task taking its
 * directory over (or the reverse) on the same worker.
 */
export interface StateDirHolder {
  /** `'CLOSED'` once its stores are released. */
  readonly state: string;
  /** Resolves once the holder is CLOSED and its stores are released. */
  readonly closed: Promise<void>;
  /** Releases the stores at once, for a holder whose close is stuck (after the next one fenced, for an active). */
  forceClose(): void;
}
