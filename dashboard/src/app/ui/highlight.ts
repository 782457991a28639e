/**
 * A search highlight ("Basalt is a **volcanic** rock") as parts to render, the bold ones marked:
 * rendered as text nodes and <mark>, never as HTML (the text is the documents', not ours).
 */
export function highlightParts(snippet: string): { text: string; mark: boolean }[] {
  return snippet
    .split("**")
    .map((text, i) => ({ text, mark: i % 2 === 1 }))
    .filter((p) => p.text !== "");
}
