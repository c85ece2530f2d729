"use client";

// StepPanel is the canvas's side panel for the selected step: the settings
// every step has (key, dependencies, inputs, retries and timeout) and the
// section of its kind (KIND_SECTIONS: an agent step picks its agent). A new
// kind of step (issue 15: wait, approval, workflow) adds its section there;
// a new setting common to all (when, forEach, onError) adds a section here.

import Link from "next/link";
import { Button } from "@/components/ui/button";
import { Field, Input, Select } from "@/components/ui/form";
import { CodeEditor } from "@/components/code-editor";
import { STEP_KINDS, templateHints, type StepForm, type StepKind } from "@/lib/steps";
import type { Agent } from "@/lib/types";

type SectionProps = {
  step: StepForm;
  errors: Record<string, string>;
  agents: Agent[];
  onChange: (patch: Partial<StepForm>) => void;
};

function AgentSection({ step, errors, agents, onChange }: SectionProps) {
  const agent = agents.find((a) => a.id === step.agentId);
  return (
    <Field label="Agent" error={errors.agentId} hint={agent ? <Link className="text-primary underline" href={`/agents/edit?id=${agent.id}`}>Open {agent.name}</Link> : "The agent this step runs."}>
      <Select name="agentId" value={step.agentId} onChange={(e) => onChange({ agentId: e.target.value })}>
        <option value="">Choose an agent</option>
        {agents.map((a) => (
          <option key={a.id} value={a.id}>
            {a.name} ({a.type})
          </option>
        ))}
      </Select>
    </Field>
  );
}

/** KIND_SECTIONS: the settings of each kind of step. */
export const KIND_SECTIONS: Record<StepKind, (p: SectionProps) => React.ReactNode> = {
  agent: AgentSection,
};

type Props = {
  step: StepForm;
  steps: StepForm[];
  agents: Agent[];
  errors: Record<string, string>;
  inputNames: string[];
  onChange: (patch: Partial<StepForm>) => void;
  onRename: (key: string) => void;
  onRemove: () => void;
};

export function StepPanel({ step, steps, agents, errors, inputNames, onChange, onRename, onRemove }: Props) {
  const Section = KIND_SECTIONS[step.kind];
  const others = steps.filter((o) => o.uid !== step.uid && o.key);
  const depError = Object.entries(errors).find(([k]) => k.startsWith("dependsOn"))?.[1];
  const inputError = Object.entries(errors).find(([k]) => k.startsWith("inputs"))?.[1];
  const shown = new Set(["key", "agentId", "timeoutSeconds", "retry.maxAttempts"]);
  const other = Object.entries(errors).filter(([k]) => !shown.has(k) && !k.startsWith("dependsOn") && !k.startsWith("inputs"));
  const hints = templateHints(steps, step.key, inputNames);
  return (
    <div className="flex flex-col gap-3" data-testid="step-panel">
      <div className="flex items-center justify-between gap-2">
        <h2 className="text-base font-semibold">
          Step <span className="font-mono">{step.key || "(no key)"}</span>
        </h2>
        <span className="rounded bg-slate-100 px-1.5 py-0.5 text-xs">{STEP_KINDS[step.kind].label}</span>
      </div>
      <Field label="Key" error={errors.key} hint="Names the step in templates: {{steps.KEY.output}}.">
        <Input name="key" value={step.key} onChange={(e) => onRename(e.target.value)} autoComplete="off" />
      </Field>
      <Section step={step} errors={errors} agents={agents} onChange={onChange} />
      <fieldset className="rounded-md border border-border p-2">
        <legend className="px-1 text-sm font-medium">Depends on</legend>
        {others.length === 0 ? (
          <p className="text-xs text-muted-foreground">No other steps: this one starts the run.</p>
        ) : (
          <div className="flex flex-wrap gap-x-4 gap-y-1">
            {others.map((o) => (
              <label key={o.uid} className="flex items-center gap-1.5 text-sm">
                <input
                  type="checkbox"
                  checked={step.dependsOn.includes(o.key)}
                  onChange={(e) =>
                    onChange({ dependsOn: e.target.checked ? [...step.dependsOn, o.key] : step.dependsOn.filter((d) => d !== o.key) })
                  }
                />
                {o.key}
              </label>
            ))}
          </div>
        )}
        {depError ? (
          <p role="alert" className="mt-1 text-xs font-medium text-destructive">
            {depError}
          </p>
        ) : null}
      </fieldset>
      <Field label="Inputs (JSON)" error={inputError} hint={<>Type {"{{"} for templates: {hints.slice(0, 3).join(", ")}{hints.length > 3 ? ", …" : ""}</>}>
        <CodeEditor
          key={step.uid}
          label="Inputs (JSON)"
          language="json"
          value={step.inputs}
          onChange={(v) => onChange({ inputs: v })}
          hints={hints}
          placeholder='{"text": "{{inputs.text}}"}'
          minLines={4}
        />
      </Field>
      <div className="grid grid-cols-2 gap-3">
        <Field label="Timeout (s)" error={errors.timeoutSeconds}>
          <Input name="timeoutSeconds" inputMode="numeric" value={step.timeoutSeconds} onChange={(e) => onChange({ timeoutSeconds: e.target.value })} />
        </Field>
        <Field label="Retries" error={errors["retry.maxAttempts"]} hint="Retryable errors only.">
          <Input name="maxAttempts" inputMode="numeric" value={step.maxAttempts} onChange={(e) => onChange({ maxAttempts: e.target.value })} />
        </Field>
      </div>
      {other.map(([k, v]) => (
        <p key={k} role="alert" className="text-xs font-medium text-destructive">
          {k ? `${k}: ` : ""}
          {v}
        </p>
      ))}
      <div>
        <Button variant="ghost" size="sm" className="text-destructive" onClick={onRemove}>
          Remove step {step.key}
        </Button>
      </div>
    </div>
  );
}
