/**
 * The shape of an n8n workflow or execution id as the proxy accepts it, in the attribution
 * headers and in per-workflow rules alike: n8n makes nanoid letters and digits (workflows)
 * and numbers (executions); a little more room costs nothing. Bounded like the contract's
 * MAX_ATTRIBUTION_ID_LENGTH (128).
 */
export const WORKFLOW_ID_SHAPE = /^[A-Za-z0-9._:-]{1,128}$/;
