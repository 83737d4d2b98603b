// train_trl.py: the run for TRL's SFTTrainer (trl ≥ 0.20: SFTConfig max_length, completion_only_loss,
// assistant_only_loss, bfd packing; transformers ≥ 4.56; peft for the PEFT methods, `adapters` for
// bottleneck adapters). The settings are one JSON object embedded between the SETTINGS markers; the
// script reads it with json.loads, and the tests read the same block back (settingsOfScript).
// JSON text can never hold three double quotes in a row (quotes inside strings are escaped, and two
// strings are always separated), so a raw triple-quoted Python string carries it unchanged.
import type { HandoffSettings } from './settings';

const BEGIN = 'SETTINGS = json.loads(r"""';
const END = '""")';

const BODY = String.raw`

def parse_args():
    parser = argparse.ArgumentParser(description="Continue a Hone run with TRL's SFTTrainer (one GPU, many with accelerate launch, or CPU for a smoke test).")
    parser.add_argument("--model", default=SETTINGS["base_model"], help="base model: Hub id or local folder (default: the run's)")
    parser.add_argument("--max-steps", type=int, default=SETTINGS["max_steps"], help="optimizer steps (default: the run's)")
    parser.add_argument("--output-dir", default=SETTINGS["output_dir"], help="where the adapter (or checkpoint) is written (default: ./output)")
    parser.add_argument("--data-dir", default=os.path.dirname(os.path.abspath(__file__)), help="folder holding data.jsonl (default: this script's)")
    return parser.parse_args()


def load_rows(path):
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as error:
                    sys.exit(f"{path}, line {number}: not JSON ({error})")
    return rows


def format_of(row):
    if "text" in row:
        return "text"
    if "messages" in row:
        return "messages"
    return "prompt-completion" if isinstance(row.get("prompt"), str) else "conversational-prompt-completion"


def one_format(rows, path):
    formats = sorted({format_of(row) for row in rows})
    if formats == ["prompt-completion", "text"]:
        # plain text beside prompt/completion pairs: as a pair with an empty prompt TRL scores the same
        # tokens (the prompt masks at most the BOS, which no loss scores), so one dataset holds both
        return [{"prompt": "", "completion": row["text"]} if "text" in row else row for row in rows]
    if len(formats) > 1:
        sys.exit(f"{path}: rows of several TRL formats ({', '.join(formats)}); SFTTrainer takes one format per dataset. Split the file by format and train one after the other.")
    return rows


def peft_config_for(model_path):
    config = SETTINGS["peft_config"]
    if config is None:
        return None
    from peft import get_peft_config

    config = dict(config, base_model_name_or_path=model_path)
    if config.get("tokenizer_name_or_path"):
        config["tokenizer_name_or_path"] = model_path  # prompt tuning's TEXT init reads the tokenizer from here
    try:
        # keys a different peft version does not have are left out (and said), rather than failing the run
        from peft.mapping import PEFT_TYPE_TO_CONFIG_MAPPING

        known = {field.name for field in dataclasses.fields(PEFT_TYPE_TO_CONFIG_MAPPING[config["peft_type"]])}
        ignored = sorted(key for key in config if key not in known)
        if ignored:
            print(f"this peft has no {', '.join(ignored)}; left out of the {config['peft_type']} config", file=sys.stderr)
        config = {key: value for key, value in config.items() if key in known}
    except (ImportError, KeyError):
        pass
    return get_peft_config(config)


def prepare_model(model):
    method = SETTINGS["method"]
    if method == "adapter":
        try:
            import adapters
        except ImportError:
            sys.exit("bottleneck adapters train with AdapterHub's library: pip install adapters")
        adapters.init(model)
        model.add_adapter("hone", config=adapters.AdapterConfig.load(SETTINGS["adapter_config"]["config"]))
        model.train_adapter("hone")
    elif method == "freeze":
        trainable = set(SETTINGS["trainable_parameters"])
        names = set()
        for name, parameter in model.named_parameters():
            parameter.requires_grad = name in trainable
            names.add(name)
        missing = sorted(trainable - names)
        if missing:
            sys.exit(f"layer freezing: the model has no parameter {missing[0]} (is --model the same architecture as the run's?)")
    return model


def main():
    args = parse_args()
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, EarlyStoppingCallback
    from trl import SFTConfig, SFTTrainer

    cuda = torch.cuda.is_available()
    # bf16 only where the hardware has it; float32 elsewhere (Hone trains in float32)
    bf16 = cuda and torch.cuda.is_bf16_supported()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    if SETTINGS["chat_template"] is not None:
        tokenizer.chat_template = SETTINGS["chat_template"]
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token  # Hone pads with EOS when the model has no pad token
    model = AutoModelForCausalLM.from_pretrained(args.model, torch_dtype=torch.bfloat16 if bf16 else torch.float32)
    model = prepare_model(model)

    train_path = os.path.join(args.data_dir, SETTINGS["train_file"])
    train = Dataset.from_list(one_format(load_rows(train_path), train_path))
    evaluation = None
    if SETTINGS["eval_file"] is not None:
        eval_path = os.path.join(args.data_dir, SETTINGS["eval_file"])
        evaluation = Dataset.from_list(one_format(load_rows(eval_path), eval_path))

    validate = evaluation is not None and SETTINGS["eval_steps"] is not None
    patience = SETTINGS["early_stopping_patience"] if validate else None
    # transformers' EarlyStoppingCallback needs load_best_model_at_end, and that needs saves on the eval steps
    best = validate and (SETTINGS["load_best_model_at_end"] or patience is not None)
    config = SFTConfig(
        output_dir=args.output_dir,
        max_steps=args.max_steps,
        per_device_train_batch_size=SETTINGS["per_device_train_batch_size"],
        per_device_eval_batch_size=SETTINGS["per_device_train_batch_size"],
        gradient_accumulation_steps=SETTINGS["gradient_accumulation_steps"],
        learning_rate=SETTINGS["learning_rate"],
        lr_scheduler_type=SETTINGS["lr_scheduler_type"],
        warmup_steps=SETTINGS["warmup_steps"],
        weight_decay=SETTINGS["weight_decay"],
        adam_beta1=SETTINGS["adam_beta1"],
        adam_beta2=SETTINGS["adam_beta2"],
        adam_epsilon=SETTINGS["adam_epsilon"],
        max_grad_norm=SETTINGS["max_grad_norm"],
        seed=SETTINGS["seed"],
        max_length=SETTINGS["max_length"],
        packing=SETTINGS["packing"],
        completion_only_loss=SETTINGS["completion_only_loss"],
        assistant_only_loss=SETTINGS["assistant_only_loss"],
        bf16=bf16,
        use_cpu=not cuda,
        gradient_checkpointing=SETTINGS["gradient_checkpointing"],
        # non-reentrant: gradients reach adapters and frozen-embedding models without enable_input_require_grads
        gradient_checkpointing_kwargs={"use_reentrant": False} if SETTINGS["gradient_checkpointing"] else None,
        logging_steps=1,
        eval_strategy="steps" if validate else "no",
        eval_steps=SETTINGS["eval_steps"] if validate else None,
        save_strategy="steps" if best else "no",
        save_steps=SETTINGS["eval_steps"] if best else 500,
        load_best_model_at_end=best,
        metric_for_best_model="eval_loss" if best else None,
        report_to="none",
    )
    callbacks = [EarlyStoppingCallback(early_stopping_patience=patience, early_stopping_threshold=SETTINGS["early_stopping_threshold"])] if patience is not None else []
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=train,
        eval_dataset=evaluation if validate else None,
        processing_class=tokenizer,
        peft_config=peft_config_for(args.model),
        callbacks=callbacks,
    )
    trainer.train()
    if SETTINGS["method"] == "adapter":
        trainer.model.save_adapter(args.output_dir, "hone")
    else:
        trainer.save_model(args.output_dir)  # PEFT methods: the adapter folder; full / freeze: the checkpoint
    tokenizer.save_pretrained(args.output_dir)
    print(f"written: {os.path.abspath(args.output_dir)}")


if __name__ == "__main__":
    main()
`;

/** The script's text with `settings` embedded. */
export function trlScript(settings: HandoffSettings): string {
  const header = [
    '#!/usr/bin/env python3',
    `"""Hone hand-off: the run (${settings.method} on ${settings.base_model}) for TRL's SFTTrainer.`,
    '',
    'One GPU:        python train_trl.py',
    'Several GPUs:   accelerate launch train_trl.py',
    'CPU smoke test: python train_trl.py --max-steps 2',
    'Overrides: --model PATH_OR_ID, --max-steps N, --output-dir DIR (default ./output).',
    'Needs: pip install torch transformers trl datasets peft accelerate',
    '"""',
    'import argparse',
    'import dataclasses',
    'import json',
    'import os',
    'import sys',
    '',
    '# The run\'s settings, as Hone used them (src/core/handoff/settings.ts); edit here to change them.',
  ];
  return [...header, BEGIN, JSON.stringify(settings, null, 2), END, BODY.trimEnd(), ''].join('\n');
}

/** The settings block of a train_trl.py, parsed (what the script itself reads). */
export function settingsOfScript(script: string): HandoffSettings {
  const start = script.indexOf(BEGIN);
  const end = script.indexOf(`\n${END}`, start);
  if (start < 0 || end < 0) throw new Error(`train_trl.py: no settings block (${BEGIN} … ${END})`);
  return JSON.parse(script.slice(start + BEGIN.length, end)) as HandoffSettings;
}
