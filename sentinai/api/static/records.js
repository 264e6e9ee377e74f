// Decision records: one record per handled input with `stages`, or (older shape) one per stage.

/** The stages of a decision record or of a decision event's payload. */
export function stagesOf(record) {
  if (!record || typeof record !== "object") return [];
  if (Array.isArray(record.stages)) return record.stages;
  // a timeline event's payload carries the record as `decision`
  if (record.decision && typeof record.decision === "object") return stagesOf(record.decision);
  if ("decision" in record) {
    return [{ stage: record.stage, decision: record.decision, confidence: record.confidence,
              evidence: record.evidence || [], next_step: record.next_step }];
  }
  return [];
}

/** One line for a record: "triage: classified → policy: needs_approval". */
export function stagesText(record) {
  return stagesOf(record).map((s) => `${s.stage}: ${s.decision}`).join(" → ");
}
