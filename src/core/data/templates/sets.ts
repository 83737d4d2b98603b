// Built-in template sets. FLAN wrote ten templates per dataset, up to three of them "turned around"
// (Wei et al. 2021, §2.1); Hone's records carry instruction / context / output rather than
// dataset-specific fields, so these phrasings wrap the record's own instruction instead of
// replacing it. The generic set is the fallback for every task; the others follow the Dolly
// categories, the task names most imported records carry. Each set covers records with and without
// a context where its task has both, since a template fits a record only when their use of context
// agrees (templateFits).
import type { Template, TemplateSet } from './types';

const t = (id: string, prompt: string, completion = '{output}', extra: Partial<Template> = {}): Template => ({
  id,
  prompt,
  completion,
  ...extra,
});
const inverted = (id: string, prompt: string, completion = '{instruction}'): Template => t(id, prompt, completion, { inverted: true });

export const GENERIC_TEMPLATES: TemplateSet = {
  task: 'generic',
  description: 'Instruction, optional input and response in several phrasings; the fallback for every task',
  templates: [
    // without a context
    t('generic/1', '{instruction}{options}'),
    t('generic/2', 'Instruction: {instruction}{options}\n\nResponse:', '{output}', { delimiter: '\n' }),
    t(
      'generic/3',
      'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}{options}\n\n### Response:',
      '{output}',
      { delimiter: '\n' },
    ),
    t('generic/4', 'Q: {instruction}{options}\nA:', '{output}', { delimiter: ' ' }),
    t('generic/5', 'Respond to the following.\n\n{instruction}{options}'),
    t('generic/6', 'Here is a request: {instruction}{options}\n\nWrite a helpful reply.'),
    inverted('generic/7', '{output}\n\nWrite an instruction that the text above is a good response to.'),
    inverted('generic/8', 'Here is a response: "{output}"\n\nWhat request could it be answering?'),
    // with a context
    t('generic/9', '{instruction}\n\n{context}{options}'),
    t('generic/10', '{context}\n\n{instruction}{options}'),
    t(
      'generic/11',
      'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{context}{options}\n\n### Response:',
      '{output}',
      { delimiter: '\n' },
    ),
    t('generic/12', 'Instruction: {instruction}\nInput: {context}{options}\nOutput:', '{output}', { delimiter: ' ' }),
    t('generic/13', 'Read the text below, then do what it asks.\n\nText: {context}\n\nTask: {instruction}{options}'),
    t('generic/14', 'Context: {context}\n\nQuestion: {instruction}{options}\n\nAnswer:', '{output}', { delimiter: ' ' }),
    inverted('generic/15', '{context}\n\nWrite an instruction about the text above whose answer is "{output}".'),
    inverted('generic/16', 'Text: {context}\n\nResponse: {output}\n\nWhat was the request?'),
  ],
};

export const OPEN_QA_TEMPLATES: TemplateSet = {
  task: 'open_qa',
  description: 'Questions answered from general knowledge',
  templates: [
    t('open_qa/1', '{instruction}'),
    t('open_qa/2', 'Question: {instruction}\n\nAnswer:', '{output}', { delimiter: ' ' }),
    t('open_qa/3', 'Q: {instruction}\nA:', '{output}', { delimiter: ' ' }),
    t('open_qa/4', 'Answer this question: {instruction}'),
    t('open_qa/5', 'Please answer the following question.\n\n{instruction}'),
    t('open_qa/6', '{instruction}\n\nWhat is the answer to this question?'),
    inverted('open_qa/7', 'Write a question whose answer is: {output}'),
    inverted('open_qa/8', 'Answer: {output}\n\nWhat is the question?'),
  ],
};

export const CLOSED_QA_TEMPLATES: TemplateSet = {
  task: 'closed_qa',
  description: 'Questions answered from a given passage',
  templates: [
    t('closed_qa/1', '{context}\n\n{instruction}'),
    t('closed_qa/2', 'Read this and answer the question.\n\n{context}\n\n{instruction}'),
    t('closed_qa/3', 'Passage: {context}\n\nQuestion: {instruction}\n\nAnswer:', '{output}', { delimiter: ' ' }),
    t('closed_qa/4', 'Answer the question based on the text.\n\nQuestion: {instruction}\n\nText: {context}'),
    t('closed_qa/5', '{context}\n\nQ: {instruction}\nA:', '{output}', { delimiter: ' ' }),
    t('closed_qa/6', 'Use the passage below to answer: {instruction}\n\n{context}'),
    inverted('closed_qa/7', '{context}\n\nWrite a question about the passage above whose answer is "{output}".'),
    inverted('closed_qa/8', 'Passage: {context}\n\nAnswer: {output}\n\nWhat question about the passage has this answer?'),
  ],
};

export const SUMMARIZATION_TEMPLATES: TemplateSet = {
  task: 'summarization',
  description: 'Summaries of a given text',
  templates: [
    t('summarization/1', '{context}\n\n{instruction}'),
    t('summarization/2', '{instruction}\n\n{context}'),
    t('summarization/3', 'Text: {context}\n\nTask: {instruction}\n\nSummary:', '{output}', { delimiter: ' ' }),
    t('summarization/4', 'Read the text and follow the instruction.\n\n{context}\n\nInstruction: {instruction}'),
    t('summarization/5', '{instruction}'),
    t('summarization/6', 'Summarize as asked: {instruction}'),
    inverted('summarization/7', 'Here is a summary: {output}\n\nWrite a longer text that it could summarize.', '{context}'),
    inverted('summarization/8', 'Write a summarization request for the following summary.\n\n{output}'),
  ],
};

export const CLASSIFICATION_TEMPLATES: TemplateSet = {
  task: 'classification',
  description: 'Choosing a label; answer choices render as an OPTIONS list',
  templates: [
    t('classification/1', '{instruction}\n\n{context}{options}'),
    t('classification/2', '{context}\n\n{instruction}{options}'),
    t('classification/3', 'Text: {context}\n\nQuestion: {instruction}{options}\n\nAnswer:', '{output}', { delimiter: ' ' }),
    t('classification/4', 'Classify the text as asked.\n\n{instruction}\n\n{context}{options}'),
    t('classification/5', '{instruction}{options}'),
    t('classification/6', 'Question: {instruction}{options}\n\nAnswer:', '{output}', { delimiter: ' ' }),
    t('classification/7', 'Choose the right answer. {instruction}{options}'),
    inverted('classification/8', 'Write a text for which the answer to "{instruction}" is "{output}".', '{context}'),
    inverted('classification/9', 'Label: {output}\n\nWrite an example that has this label for the task: {instruction}', '{context}'),
  ],
};

export const BUILT_IN_TEMPLATE_SETS: readonly TemplateSet[] = [
  GENERIC_TEMPLATES,
  OPEN_QA_TEMPLATES,
  CLOSED_QA_TEMPLATES,
  SUMMARIZATION_TEMPLATES,
  CLASSIFICATION_TEMPLATES,
];
