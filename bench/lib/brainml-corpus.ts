/** The brainml scenario's corpus size: chunks at the largest scale, and held-out queries. */
export const BRAINML_CHUNKS = 100_000;
export const BRAINML_QUERIES = 200;
