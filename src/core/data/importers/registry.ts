// Format name → importer. Built once from the list below; a second importer claiming a format is
// a programming error and fails at load time rather than silently shadowing the first.
import { alpacaImporter } from './alpaca';
import { csvImporter } from './csv';
import { dollyImporter } from './dolly';
import { honeImporter } from './hone';
import { messagesImporter } from './messages';
import { shareGptImporter } from './sharegpt';
import { sniImporter } from './sni';
import { textImporter } from './text';
import { trlImporter } from './trl';
import type { Importer, TextFormatName } from './types';

const importers = new Map<TextFormatName, Importer>();

function register(importer: Importer): void {
  if (importers.has(importer.format)) throw new Error(`two importers claim the format "${importer.format}"`);
  importers.set(importer.format, importer);
}

for (const importer of [alpacaImporter, dollyImporter, shareGptImporter, messagesImporter, sniImporter, trlImporter, csvImporter, textImporter, honeImporter]) {
  register(importer);
}

export function getImporter(format: TextFormatName): Importer {
  const importer = importers.get(format);
  if (!importer) throw new Error(`no importer for the format "${format}" (known: ${[...importers.keys()].join(', ')})`);
  return importer;
}
