/** Which formats BrainML ingests, and how a file's name maps to one. */
export type Format = "text" | "markdown" | "html" | "json" | "code" | "pdf";
export const FORMATS: readonly Format[] = ["text", "markdown", "html", "json", "code", "pdf"];

const BY_EXTENSION: Record<string, Format> = {
  ".txt": "text",
  ".text": "text",
  ".log": "text",
  ".csv": "text",
  ".md": "markdown",
  ".markdown": "markdown",
  ".html": "html",
  ".htm": "html",
  ".json": "json",
  ".pdf": "pdf",
};

/** Source code extensions and the language each names. */
const CODE: Record<string, string> = {
  ".ts": "typescript",
  ".tsx": "typescript",
  ".mts": "typescript",
  ".js": "javascript",
  ".mjs": "javascript",
  ".cjs": "javascript",
  ".jsx": "javascript",
  ".py": "python",
  ".rs": "rust",
  ".go": "go",
  ".java": "java",
  ".kt": "kotlin",
  ".c": "c",
  ".h": "c",
  ".cc": "cpp",
  ".cpp": "cpp",
  ".hpp": "cpp",
  ".cs": "csharp",
  ".rb": "ruby",
  ".php": "php",
  ".swift": "swift",
  ".sh": "shell",
  ".bash": "shell",
  ".sql": "sql",
  ".css": "css",
  ".scss": "css",
  ".yaml": "yaml",
  ".yml": "yaml",
  ".toml": "toml",
};

export function extensionOf(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(dot).toLowerCase() : "";
}

/** The format for a file name, or undefined when BrainML does not know the extension. */
export function formatOf(path: string): { format: Format; language?: string } | undefined {
  const ext = extensionOf(path);
  if (BY_EXTENSION[ext]) return { format: BY_EXTENSION[ext] };
  if (CODE[ext]) return { format: "code", language: CODE[ext] };
  return undefined;
}
