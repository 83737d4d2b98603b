/** A task cluster's id as words for the page: "factual_qa" → "factual QA". */
export function clusterLabel(name: string): string {
  return name.replaceAll('_', ' ').replace(/\bqa\b/, 'QA');
}
