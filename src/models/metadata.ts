/** What the store reads from a model's files for model.json `metadata` (per format). */
export async function readFileMetadata(_format: string, _files: Record<string, string>, _dir: string): Promise<Record<string, unknown>> {
  return {};
}
