// Hands a file the worker built (an export, a chart) to the browser as a download.

export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  // in the document while clicked: some browsers ignore a click on a detached link
  document.body.append(link);
  link.click();
  link.remove();
  // the download has taken its copy once click() returns; a delay spares slow browsers and large files
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
