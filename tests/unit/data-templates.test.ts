// Templates: exact rendered text for every mode, k-shot separators, OPTIONS lists, turned-around
// templates, chat messages, SNI prompts, and the errors a bad template or a misfit record gives.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng';
import {
  CLASSIFICATION_TEMPLATES,
  fittingTemplates,
  formatOptions,
  getTemplate,
  GENERIC_TEMPLATES,
  listTemplateSets,
  parseTemplateText,
  pickTemplate,
  registerTemplateSet,
  renderChat,
  renderExample,
  renderSni,
  TemplateError,
  templateSetFor,
  validateTemplate,
  type RenderableRecord,
  type Template,
} from '../../src/core/data/templates';

const capital: RenderableRecord = { instruction: 'What is the capital of France?', output: 'Paris', task: 'open_qa' };
const review: RenderableRecord = {
  instruction: 'Is this review positive?',
  context: 'The soup was cold and the waiter rude.',
  output: 'no',
  task: 'sentiment',
};
const qa = (q: string, a: string): RenderableRecord => ({ instruction: q, output: a, task: 'open_qa' });

describe('template strings', () => {
  it('parses placeholders and {{ }} escapes', () => {
    expect(parseTemplateText('Q: {instruction} {{literal}} {options}', 'x')).toEqual([
      'Q: ',
      { field: 'instruction' },
      ' {literal} ',
      { field: 'options' },
    ]);
  });

  it('names an unknown placeholder and where it is', () => {
    const bad: Template = { id: 'mine/1', prompt: 'Question: {question}', completion: '{output}' };
    expect(() => validateTemplate(bad)).toThrow(TemplateError);
    expect(() => validateTemplate(bad)).toThrow(
      'template "mine/1", prompt: unknown placeholder {question} (known: {instruction}, {context}, {output}, {options}); write "{{" and "}}" for literal braces',
    );
    expect(() => validateTemplate({ id: 'm', prompt: '{instruction}', completion: '{answer}' })).toThrow(
      /template "m", completion: unknown placeholder \{answer\}/,
    );
  });

  it('names stray braces with their position', () => {
    expect(() => parseTemplateText('a { b', 'here')).toThrow('here: unmatched "{" at character 3; write "{{" for a literal brace');
    expect(() => parseTemplateText('a {x {instruction}', 'here')).toThrow(/unmatched "\{" at character 3/);
    expect(() => parseTemplateText('a } b', 'here')).toThrow('here: unmatched "}" at character 3; write "}}" for a literal brace');
  });

  it('never reads braces inside record text as placeholders', () => {
    const record = { instruction: 'Return {"a": 1} as JSON', output: '{output}' };
    const out = renderExample(record, { id: 'x', prompt: '{instruction}', completion: '{output}' });
    expect(out).toEqual({ prompt: 'Return {"a": 1} as JSON\n\n', completion: '{output}' });
  });

  it('formats options as FLAN does', () => {
    expect(formatOptions(['yes', 'no'])).toBe('OPTIONS:\n- yes\n- no');
  });
});

describe('renderExample', () => {
  it('zero-shot through a template, prompt ending in its delimiter', () => {
    expect(renderExample(capital, getTemplate('open_qa/2'))).toEqual({
      prompt: 'Question: What is the capital of France?\n\nAnswer: ',
      completion: 'Paris',
    });
    expect(renderExample(capital, getTemplate('generic/1'))).toEqual({ prompt: 'What is the capital of France?\n\n', completion: 'Paris' });
    expect(renderExample(review, getTemplate('generic/11')).prompt).toBe(
      'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n' +
        '### Instruction:\nIs this review positive?\n\n### Input:\nThe soup was cold and the waiter rude.\n\n### Response:\n',
    );
  });

  it('renders OPTIONS where the template puts them, and nothing when there are none', () => {
    const template = getTemplate('classification/2');
    expect(renderExample(review, template, { options: ['yes', 'no'] })).toEqual({
      prompt: 'The soup was cold and the waiter rude.\n\nIs this review positive?\n\nOPTIONS:\n- yes\n- no\n\n',
      completion: 'no',
    });
    expect(renderExample(review, template).prompt).toBe('The soup was cold and the waiter rude.\n\nIs this review positive?\n\n');
    expect(renderExample(review, getTemplate('classification/3'), { options: ['yes', 'no'] }).prompt).toBe(
      'Text: The soup was cold and the waiter rude.\n\nQuestion: Is this review positive?\n\nOPTIONS:\n- yes\n- no\n\nAnswer: ',
    );
  });

  it('appends OPTIONS to a template without {options}; a template\'s own options apply; [] hides them', () => {
    const plain: Template = { id: 'p', prompt: '{context}\n{instruction}', completion: '{output}', options: ['yes', 'no'] };
    expect(renderExample(review, plain).prompt).toBe('The soup was cold and the waiter rude.\nIs this review positive?\n\nOPTIONS:\n- yes\n- no\n\n');
    expect(renderExample(review, plain, { options: ['positive', 'negative', 'neutral'] }).prompt).toBe(
      'The soup was cold and the waiter rude.\nIs this review positive?\n\nOPTIONS:\n- positive\n- negative\n- neutral\n\n',
    );
    expect(renderExample(review, plain, { options: [] }).prompt).toBe('The soup was cold and the waiter rude.\nIs this review positive?\n\n');
  });

  it('turned-around templates invert the task', () => {
    expect(renderExample(capital, getTemplate('open_qa/7'))).toEqual({
      prompt: 'Write a question whose answer is: Paris\n\n',
      completion: 'What is the capital of France?',
    });
    expect(renderExample(review, getTemplate('classification/8'))).toEqual({
      prompt: 'Write a text for which the answer to "Is this review positive?" is "no".\n\n',
      completion: 'The soup was cold and the waiter rude.',
    });
  });

  it('k-shot: exemplars rendered the same way, joined by FLAN\'s "\\n\\n\\n"', () => {
    const shots = [qa('What is 2 + 2?', '4'), qa('Who wrote Hamlet?', 'Shakespeare')];
    expect(renderExample(capital, getTemplate('open_qa/3'), { shots })).toEqual({
      prompt: 'Q: What is 2 + 2?\nA: 4\n\n\nQ: Who wrote Hamlet?\nA: Shakespeare\n\n\nQ: What is the capital of France?\nA: ',
      completion: 'Paris',
    });
    expect(renderExample(capital, undefined, { mode: 'no-template', shots: shots.slice(0, 1) })).toEqual({
      prompt: 'What is 2 + 2?\n\n4\n\n\nWhat is the capital of France?\n\n',
      completion: 'Paris',
    });
  });

  it('"no template" shows the input alone: the context when there is one', () => {
    expect(renderExample(capital, undefined, { mode: 'no-template' })).toEqual({ prompt: 'What is the capital of France?\n\n', completion: 'Paris' });
    expect(renderExample(review, getTemplate('generic/9'), { mode: 'no-template', options: ['yes', 'no'] })).toEqual({
      prompt: 'The soup was cold and the waiter rude.\n\nOPTIONS:\n- yes\n- no\n\n',
      completion: 'no',
    });
    expect(renderExample(capital, undefined, { mode: 'no-template', delimiter: '\n' }).prompt).toBe('What is the capital of France?\n');
  });

  it('"dataset name only" prefixes the task name', () => {
    expect(renderExample(review, undefined, { mode: 'dataset-name' })).toEqual({
      prompt: 'sentiment: The soup was cold and the waiter rude.\n\n',
      completion: 'no',
    });
    expect(renderExample(capital, undefined, { mode: 'dataset-name', taskName: 'Trivia' }).prompt).toBe('Trivia: What is the capital of France?\n\n');
    expect(() => renderExample({ instruction: 'q', output: 'a' }, undefined, { mode: 'dataset-name' })).toThrow(
      'record: has no task, and "dataset-name" rendering shows one; set taskName',
    );
  });

  it('refuses a template that does not fit, naming the record or shot', () => {
    expect(() => renderExample(capital, getTemplate('generic/9'))).toThrow(
      'record: template "generic/9" uses {context} but the record has no context; pick a template without {context}',
    );
    expect(() => renderExample(review, getTemplate('generic/1'))).toThrow(
      'record: template "generic/1" has no {context}, so the record\'s context would be dropped; pick a template with {context}',
    );
    expect(() => renderExample(capital, getTemplate('generic/1'), { shots: [capital, review] })).toThrow(/^shot 2: template "generic\/1" has no \{context\}/);
    expect(() => renderExample({ instruction: 'q' }, getTemplate('generic/1'))).toThrow('record: template "generic/1" uses {output} but the record has no output');
    expect(() => renderExample({ instruction: '', output: 'plain text' }, getTemplate('generic/1'))).toThrow(/instruction is empty/);
    expect(() => renderExample(capital, undefined)).toThrow('record: needs a template in "instructions" mode');
    const chat: RenderableRecord = { instruction: '', conversation: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] };
    expect(() => renderExample(chat, getTemplate('generic/1'))).toThrow('record: is a conversation of 2 turns; render it with renderChat instead');
  });
});

describe('renderChat', () => {
  it('makes user/assistant messages without the delimiter, shots as earlier turns', () => {
    expect(renderChat(capital, getTemplate('open_qa/4'), { shots: [qa('Who wrote Hamlet?', 'Shakespeare')], system: 'Be brief.' })).toEqual({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Answer this question: Who wrote Hamlet?' },
        { role: 'assistant', content: 'Shakespeare' },
        { role: 'user', content: 'Answer this question: What is the capital of France?' },
        { role: 'assistant', content: 'Paris' },
      ],
    });
    expect(renderChat(review, getTemplate('classification/1'), { options: ['yes', 'no'] }).messages[0]).toEqual({
      role: 'user',
      content: 'Is this review positive?\n\nThe soup was cold and the waiter rude.\n\nOPTIONS:\n- yes\n- no',
    });
  });

  it('passes a conversation through, keeping its own system turn', () => {
    const conversation = [
      { role: 'system' as const, content: 'You are terse.' },
      { role: 'user' as const, content: 'hi' },
      { role: 'assistant' as const, content: 'hello' },
      { role: 'user' as const, content: 'bye' },
      { role: 'assistant' as const, content: 'bye' },
    ];
    expect(renderChat({ instruction: '', conversation }, undefined, { system: 'ignored' }).messages).toEqual(conversation);
    expect(renderChat({ instruction: '', conversation: conversation.slice(1, 3) }, undefined, { system: 'Be kind.' }).messages).toEqual([
      { role: 'system', content: 'Be kind.' },
      ...conversation.slice(1, 3),
    ]);
    // exemplar turns go after the system turn, before the conversation
    expect(renderChat({ instruction: '', conversation }, getTemplate('generic/1'), { shots: [qa('2 + 2?', '4')] }).messages).toEqual([
      conversation[0],
      { role: 'user', content: '2 + 2?' },
      { role: 'assistant', content: '4' },
      ...conversation.slice(1),
    ]);
  });
});

describe('renderSni', () => {
  const sni: RenderableRecord = {
    instruction: 'Decide whether the sentence is grammatical. Answer yes or no.',
    context: 'Him went home.',
    output: 'no',
    task: 'task999_grammar',
    negatives: [{ output: 'maybe', explanation: 'The answer must be yes or no.' }, { output: 'ungrammatical' }],
  };

  it('shows definition, positive and negative examples with explanations, then the instance', () => {
    const out = renderSni(sni, { positives: [{ input: 'She went home.', output: 'yes', explanation: 'Subject and verb agree.' }] });
    expect(out).toEqual({
      prompt:
        'Definition: Decide whether the sentence is grammatical. Answer yes or no.\n\n' +
        'Positive Example 1 -\nInput: She went home.\nOutput: yes\nExplanation: Subject and verb agree.\n\n' +
        'Negative Example 1 -\nOutput: maybe\nExplanation: The answer must be yes or no.\n\n' +
        'Negative Example 2 -\nOutput: ungrammatical\n\n' +
        'Now complete the following example -\nInput: Him went home.\nOutput: ',
      completion: 'no',
    });
  });

  it('can hide explanations and negatives, and take another definition', () => {
    expect(renderSni(sni, { negatives: [], definition: 'Grammar check.', positives: [{ output: 'yes', explanation: 'x' }], explanations: false }).prompt).toBe(
      'Definition: Grammar check.\n\nPositive Example 1 -\nOutput: yes\n\nNow complete the following example -\nInput: Him went home.\nOutput: ',
    );
  });
});

describe('registry', () => {
  it('has the built-in sets, each with turned-around templates and valid strings', () => {
    expect(listTemplateSets().map((s) => s.task)).toEqual(expect.arrayContaining(['generic', 'open_qa', 'closed_qa', 'summarization', 'classification']));
    for (const set of listTemplateSets()) {
      expect(set.templates.length).toBeGreaterThanOrEqual(8);
      expect(set.templates.some((t) => t.inverted)).toBe(true);
      for (const t of set.templates) expect(t.id.startsWith(`${set.task}/`)).toBe(true);
    }
  });

  it('falls back to the generic set for unknown tasks', () => {
    expect(templateSetFor('task123_unknown')).toBe(GENERIC_TEMPLATES);
    expect(templateSetFor(undefined)).toBe(GENERIC_TEMPLATES);
    expect(templateSetFor('classification')).toBe(CLASSIFICATION_TEMPLATES);
  });

  it('refuses a duplicate task or a malformed template', () => {
    expect(() => registerTemplateSet({ task: 'open_qa', description: '', templates: [{ id: 'x', prompt: '{instruction}', completion: '{output}' }] })).toThrow(
      'template registry: task "open_qa" already has a template set',
    );
    expect(() => registerTemplateSet({ task: 'bad-set', description: '', templates: [{ id: 'b/1', prompt: '{instructions}', completion: '{output}' }] })).toThrow(
      /template set "bad-set", template "b\/1", prompt: unknown placeholder \{instructions\}/,
    );
    expect(() =>
      registerTemplateSet({
        task: 'dup-ids',
        description: '',
        templates: [
          { id: 'd', prompt: '{instruction}', completion: '{output}' },
          { id: 'd', prompt: 'Q: {instruction}', completion: '{output}' },
        ],
      }),
    ).toThrow('template set "dup-ids": template id "d" is used twice');
    expect(listTemplateSets().map((s) => s.task)).not.toContain('bad-set');
  });

  it('lists fitting templates by context use and inversion', () => {
    expect(fittingTemplates(GENERIC_TEMPLATES, capital).map((t) => t.id)).toEqual(['generic/1', 'generic/2', 'generic/3', 'generic/4', 'generic/5', 'generic/6']);
    expect(fittingTemplates(GENERIC_TEMPLATES, review, { inverted: true }).map((t) => t.id)).toEqual(['generic/15', 'generic/16']);
  });

  it('picks a seeded template from the task set, or the generic set when none of the task\'s fit', () => {
    const ids = (seed: number, record: RenderableRecord) => {
      const rng = new Rng(seed);
      return Array.from({ length: 6 }, () => pickTemplate(record, rng).id);
    };
    expect(ids(1, capital)).toEqual(ids(1, capital));
    expect(new Set(ids(1, capital).map((id) => id.split('/')[0]))).toEqual(new Set(['open_qa']));
    // an open_qa record with a context: no open_qa template uses {context}
    const withContext = { ...capital, context: 'France is in Europe.' };
    expect(ids(2, withContext).every((id) => ['generic/9', 'generic/10', 'generic/11', 'generic/12', 'generic/13', 'generic/14'].includes(id))).toBe(true);
    const empty = { task: 's', description: '', templates: [] };
    expect(['generic/7', 'generic/8']).toContain(pickTemplate(capital, new Rng(0), { set: empty, inverted: true }).id);

  });
});
