"use client";

// StepPanel is the canvas's side panel for the selected step: the settings
// every step has (key, type, dependencies, when, onError, inputs and
// timeout) and the section of its kind (KIND_SECTIONS: an agent step picks
// its agent and may loop with forEach, a wait step its time, an approval
// its timeout, a workflow step the workflow it runs). A new kind of step
// adds its section there; a new setting common to all adds a section here.
// The validator's errors appear at their field.

import Link from "next/link";
import { Button } from "@/components/ui/button";
import { Field, Input, Select } from "@/components/ui/form";
import { CodeEditor } from "@/components/code-editor";
import { panelFields, SKIP_SEMANTICS, STEP_KINDS, templateHints, type StepForm, type StepKind } from "@/lib/steps";
import type { Agent } from "@/lib/types";

type SectionProps = {
  step: StepForm;
  errors: Record<string, string>;
  agents: Agent[];
  workflows: { id: string; name: string }[];
  onChange: (patch: Partial<StepForm>) => void;
};

function AgentSection({ step, errors, agents, onChange }: SectionProps) {
  const agent = agents.find((a) => a.id === step.agentId);
  return (
    <>
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
      <div className="grid grid-cols-[minmax(0,1fr)_6rem] gap-3">
        <Field
          label="For each (optional)"
          error={errors.forEach}
          hint={<>A template giving a list, e.g. {"{{inputs.documents}}"}: the step runs once per item, with {"{{item}}"} and {"{{index}}"} in its inputs; its output is the list of results.</>}
        >
          <Input name="forEach" value={step.forEach} onChange={(e) => onChange({ forEach: e.target.value })} placeholder="{{inputs.documents}}" autoComplete="off" spellCheck={false} />
        </Field>
        <Field label="At once" error={errors.maxConcurrency} hint="Default 10.">
          <Input name="maxConcurrency" inputMode="numeric" value={step.maxConcurrency} disabled={!step.forEach.trim()} onChange={(e) => onChange({ maxConcurrency: e.target.value })} />
        </Field>
      </div>
    </>
  );
}

function WaitSection({ step, errors, onChange }: SectionProps) {
  return (
    <fieldset className="flex flex-col gap-2 rounded-md border border-border p-2">
      <legend className="px-1 text-sm font-medium">Wait</legend>
      <div className="flex gap-4 text-sm">
        <label className="flex items-center gap-1.5">
          <input type="radio" name={`wait-mode-${step.uid}`} checked={step.waitMode === "seconds"} onChange={() => onChange({ waitMode: "seconds" })} />
          For a time
        </label>
        <label className="flex items-center gap-1.5">
          <input type="radio" name={`wait-mode-${step.uid}`} checked={step.waitMode === "until"} onChange={() => onChange({ waitMode: "until" })} />
          Until a moment
        </label>
      </div>
      {step.waitMode === "seconds" ? (
        <Field label="Seconds" error={errors.seconds} hint="The run shows waiting until then; the wait survives a restart.">
          <Input name="seconds" inputMode="numeric" value={step.seconds} onChange={(e) => onChange({ seconds: e.target.value })} />
        </Field>
      ) : (
        <Field label="Until" error={errors.until} hint={<>An RFC 3339 time or a template giving one, e.g. {"{{inputs.sendAt}}"}.</>}>
          <Input name="until" value={step.until} onChange={(e) => onChange({ until: e.target.value })} placeholder="2030-01-01T09:00:00Z" autoComplete="off" spellCheck={false} />
        </Field>
      )}
    </fieldset>
  );
}

function ApprovalSection() {
  return (
    <p className="rounded-md bg-amber-50 p-2 text-xs text-amber-950">
      The run waits here until the owner approves or rejects it (on the execution page, with <code>turbocat approve</code>, or a
      signed link from the <code>step.waiting</code> event). Rejected, the step fails with <code>Approval.Rejected</code>; no
      decision within the timeout, with <code>Approval.TimedOut</code>.
    </p>
  );
}

function WorkflowSection({ step, errors, workflows, onChange }: SectionProps) {
  const target = workflows.find((w) => w.name === step.workflow || w.id === step.workflow);
  const listId = `workflows-${step.uid}`;
  return (
    <>
      <Field
        label="Workflow to run"
        error={errors.workflow}
        hint={
          target ? (
            <>
              Runs <Link className="text-primary underline" href={`/workflows/edit?id=${target.id}`}>{target.name}</Link> as a child run with this step&apos;s inputs as its input.
            </>
          ) : (
            "The name or id of one of your workflows; the step's inputs are its input."
          )
        }
      >
        <Input name="workflow" list={listId} value={step.workflow} onChange={(e) => onChange({ workflow: e.target.value })} autoComplete="off" />
      </Field>
      <datalist id={listId}>
        {workflows.map((w) => (
          <option key={w.id} value={w.name} />
        ))}
      </datalist>
    </>
  );
}

/** KIND_SECTIONS: the settings of each kind of step. */
export const KIND_SECTIONS: Record<StepKind, (p: SectionProps) => React.ReactNode> = {
  agent: AgentSection,
  wait: WaitSection,
  approval: ApprovalSection,
  workflow: WorkflowSection,
};


type Props = {
  step: StepForm;
  steps: StepForm[];
  agents: Agent[];
  /** workflows a workflow step may run (the one edited aside). */
  workflows: { id: string; name: string }[];
  errors: Record<string, string>;
  inputNames: string[];
  onChange: (patch: Partial<StepForm>) => void;
  onRename: (key: string) => void;
  onRemove: () => void;
};

export function StepPanel({ step, steps, agents, workflows, errors, inputNames, onChange, onRename, onRemove }: Props) {
  const Section = KIND_SECTIONS[step.kind];
  const others = steps.filter((o) => o.uid !== step.uid && o.key);
  const depError = Object.entries(errors).find(([k]) => k.startsWith("dependsOn"))?.[1];
  const inputError = Object.entries(errors).find(([k]) => k.startsWith("inputs"))?.[1];
  // Errors of fields with no control for this kind are listed at the end.
  const fields = new Set(panelFields(step));
  const other = Object.entries(errors).filter(([k]) => !fields.has(k) && !k.startsWith("dependsOn") && !k.startsWith("inputs"));
  const hints = templateHints(steps, step.key, inputNames, step.kind === "agent" && Boolean(step.forEach.trim()));
  const showInputs = step.kind === "agent" || step.kind === "workflow" || step.inputs.trim() !== "";
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
      <Field label="Type" error={errors.type} hint={STEP_KINDS[step.kind].help}>
        <Select name="type" value={step.kind} onChange={(e) => onChange({ kind: e.target.value as StepKind })}>
          {(Object.keys(STEP_KINDS) as StepKind[]).map((k) => (
            <option key={k} value={k}>
              {STEP_KINDS[k].label}
            </option>
          ))}
        </Select>
      </Field>
      <Section step={step} errors={errors} agents={agents} workflows={workflows} onChange={onChange} />
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
      <Field
        label="When (optional)"
        error={errors.when}
        hint={
          <>
            A CEL condition over <code>inputs</code>, <code>steps.KEY.output</code>, <code>steps.KEY.status</code> and <code>execution</code>, e.g.{" "}
            <code>steps.classify.output.label == &quot;invoice&quot;</code>. <span data-testid="skip-semantics">{SKIP_SEMANTICS}</span>
          </>
        }
      >
        <Input name="when" value={step.when} onChange={(e) => onChange({ when: e.target.value })} autoComplete="off" spellCheck={false} className="font-mono" />
      </Field>
      <Field
        label="On error"
        error={errors.onError}
        hint={step.onError === "continue" ? "The step is recorded failed and the run goes on; later steps see steps.KEY.error (a when on steps.KEY.status == 'failed' builds a fallback)." : "The run fails when this step fails."}
      >
        <Select name="onError" value={step.onError} onChange={(e) => onChange({ onError: e.target.value === "continue" ? "continue" : "fail" })}>
          <option value="fail">Fail the run</option>
          <option value="continue">Continue the run</option>
        </Select>
      </Field>
      {showInputs ? (
        <Field
          label={step.kind === "workflow" ? "Inputs of the child run (JSON)" : "Inputs (JSON)"}
          error={inputError}
          hint={<>Type {"{{"} for templates: {hints.slice(0, 3).join(", ")}{hints.length > 3 ? ", …" : ""}</>}
        >
          <CodeEditor
            key={step.uid}
            label={step.kind === "workflow" ? "Inputs of the child run (JSON)" : "Inputs (JSON)"}
            language="json"
            value={step.inputs}
            onChange={(v) => onChange({ inputs: v })}
            hints={hints}
            placeholder='{"text": "{{inputs.text}}"}'
            minLines={4}
          />
        </Field>
      ) : null}
      {step.kind === "wait" ? null : (
        <div className="grid grid-cols-2 gap-3">
          <Field
            label={step.kind === "approval" ? "Decision timeout (s)" : "Timeout (s)"}
            error={errors.timeoutSeconds}
            hint={step.kind === "approval" ? "Up to 30 days; none: waits until decided." : undefined}
          >
            <Input name="timeoutSeconds" inputMode="numeric" value={step.timeoutSeconds} onChange={(e) => onChange({ timeoutSeconds: e.target.value })} />
          </Field>
          {step.kind === "agent" ? (
            <Field label="Retries" error={errors["retry.maxAttempts"]} hint="Retryable errors only.">
              <Input name="maxAttempts" inputMode="numeric" value={step.maxAttempts} onChange={(e) => onChange({ maxAttempts: e.target.value })} />
            </Field>
          ) : null}
        </div>
      )}
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
