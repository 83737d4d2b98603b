// Templates: FLAN-style phrasings per task, rendered into training examples.
//
//   renderExample(record, template, { mode?, shots?, options?, taskName?, delimiter? }) → { prompt, completion }
//   renderChat(record, template, { …, system? }) → { messages: [{role, content}] }   for chat templates
//   renderSni(record, { definition?, positives?, negatives?, explanations? }) → { prompt, completion }
//   templateSetFor(task?) → TemplateSet (generic fallback); pickTemplate(record, rng, { inverted?, set? })
//   fittingTemplates(set, record, { inverted? }); registerTemplateSet(set); listTemplateSets(); getTemplate(id)
//   parseTemplateText / validateTemplate: check a user-written template (unknown placeholder → TemplateError)
//
// Placeholders: {instruction} {context} {output} {options}; {{ and }} are literal braces.
export * from './types';
export { PLACEHOLDERS, formatOptions, parseTemplateText, validateTemplate, usesPlaceholder, type Placeholder } from './fill';
export { DEFAULT_DELIMITER, EXAMPLE_SEPARATOR, renderChat, renderExample, renderSni, templateFits } from './render';
export type { ChatRenderOptions, SniDemonstration, SniRenderOptions } from './render';
export { fittingTemplates, getTemplate, GENERIC_TASK, listTemplateSets, pickTemplate, registerTemplateSet, templateSetFor } from './registry';
export { BUILT_IN_TEMPLATE_SETS, CLASSIFICATION_TEMPLATES, CLOSED_QA_TEMPLATES, GENERIC_TEMPLATES, OPEN_QA_TEMPLATES, SUMMARIZATION_TEMPLATES } from './sets';
