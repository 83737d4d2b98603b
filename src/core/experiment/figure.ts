// The FLAN experiment's report as the FLAN-style figure draws it (src/ui/eval/FlanFigure.svelte, the
// same figure the Evaluate view shows): held-out clusters, then overall. Types only from flan.ts, so
// the page can import this without the training code.
import type { FigureGroup } from '../eval/report';
import type { FlanReport, ModelScores } from './flan';
import { clusterLabel } from '../world/cluster-label';

export function flanFigureGroups(report: FlanReport): FigureGroup[] {
  const group = (name: string, cluster: string | null): FigureGroup => {
    const score = (m: ModelScores): number => (cluster === null ? m.overall : m.perCluster[cluster]);
    return {
      group: name,
      count: cluster === null ? report.base.items.length : report.base.items.filter((i) => i.cluster === cluster).length,
      baseZeroShot: score(report.base),
      baseFewShot: report.baseFewShot ? score(report.baseFewShot) : null,
      tunedZeroShot: score(report.tuned),
    };
  };
  return [...report.heldOut.map((c) => group(clusterLabel(c), c)), group('overall', null)];
}
