/// The Redis keys of one app's stream journal, all in the app's own DB (DESIGN section 11).
///
/// - `mimic:{app}:journal` (stream): one entry per record, ID `<seq>-0`, fields `key`
///   (`<source>\u{1F}<id>`), `at` (accept time, unix ms), `env` (the envelope bytes) and, for a part
///   of a multi-app append, `hold` (`<first>-<last>` of the part). A marker entry, ID `<seq>-<n>`
///   with n ≥ 1 (after the newest record when it was written), carries `release` or `void`
///   (`<first>-<last>`): what became of a held part, in stream order for every instance.
/// - `…:journal:epoch` (string): the journal id, set once (SET NX) and kept for good.
/// - `…:journal:seq` (string): the last seq assigned; only the append script moves it.
/// - `…:journal:keys` (sorted set): idempotency keys scored by their seq, while their record is
///   in the stream or their seq is among the newest `recentIDs` (the dedupe window).
/// - `…:journal:holds` (hash): first seq → last seq of each held part not yet released or voided;
///   whoever removes the field (release, void, or expiry) decides the part's fate.
/// - `…:journal:acked` (string): the seq the worker acknowledged (only grows, except by a rewind).
/// - `…:journal:bytes` (string): the record bytes the stream holds (as `JournalRecord.encodedSize`
///   counts them), for the `journal_retain_bytes` cap.
/// - `…:journal:voids` (hash): first seq → last seq of each voided part still in the stream (a
///   rewind forwards them as void gaps again).
/// - `…:journal:at` (string): the newest accept time, so stamps never go back whichever
///   instance's clock made them.
/// - `…:journal:probe` (string): written before a `WAIT` so it covers every earlier write.
struct RedisStreamKeys: Sendable, Equatable {
    let stream: String
    let epoch: String
    let seq: String
    let keys: String
    let holds: String
    let acked: String
    let bytes: String
    let voids: String
    let at: String
    let probe: String

    init(app: String) {
        stream = "mimic:\(app):journal"
        epoch = stream + ":epoch"
        seq = stream + ":seq"
        keys = stream + ":keys"
        holds = stream + ":holds"
        acked = stream + ":acked"
        bytes = stream + ":bytes"
        voids = stream + ":voids"
        at = stream + ":at"
        probe = stream + ":probe"
    }
}
