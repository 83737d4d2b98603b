// The one error the row builder throws for bad input: it names the record (its index in the list
// given, and its kind) and the field, so a person can find and fix it.

export class RowsError extends Error {
  override name = 'RowsError';

  constructor(
    detail: string,
    /** index of the record in the list given; undefined for a problem with the settings or tokenizer */
    readonly record?: number,
    readonly field?: string,
    kind?: string,
  ) {
    const where = [
      record !== undefined ? `record ${record}${kind ? ` (${kind})` : ''}` : '',
      field !== undefined ? `field "${field}"` : '',
    ].filter(Boolean);
    super(`training rows: ${where.length > 0 ? `${where.join(', ')}: ` : ''}${detail}`);
  }
}
