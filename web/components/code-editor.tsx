"use client";

// CodeEditor is CodeMirror 6 for the console's code and JSON fields:
// highlighting, line numbers, bracket matching, undo history, a syntax
// check of JSON as you type, the API's error shown at its line
// (errorLine), and template completions after "{{" (hints) for step inputs.

import { useEffect, useRef } from "react";
import { autocompletion, type CompletionContext, type CompletionResult } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { javascript } from "@codemirror/lang-javascript";
import { json, jsonParseLinter } from "@codemirror/lang-json";
import { bracketMatching, defaultHighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { linter, lintGutter, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import { Compartment, EditorState, type Extension } from "@codemirror/state";
import { EditorView, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers, placeholder as placeholderExt } from "@codemirror/view";
import { cn } from "@/lib/utils";

type Props = {
  /** label names the editor for assistive technology (and getByLabel). */
  label: string;
  value: string;
  onChange: (v: string) => void;
  language: "javascript" | "json";
  id?: string;
  "aria-invalid"?: boolean;
  "aria-describedby"?: string;
  /** errorLine (1-based) marks the line of errorMessage, the API's error. */
  errorLine?: number | null;
  errorMessage?: string;
  /** hints are completed after "{{": inputs.x, steps.k.output, execution.id. */
  hints?: string[];
  placeholder?: string;
  minLines?: number;
  className?: string;
};

function templateCompletions(hints: () => string[]) {
  return (ctx: CompletionContext): CompletionResult | null => {
    const m = ctx.matchBefore(/\{\{[\w.]*/);
    if (!m) return null;
    return {
      from: m.from + 2,
      options: hints().map((h) => ({ label: h, apply: h + "}}", type: "variable", detail: "template" })),
      validFor: /^[\w.]*$/,
    };
  };
}

export function CodeEditor(props: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;
  const hints = useRef<string[]>(props.hints ?? []);
  hints.current = props.hints ?? [];
  const attrs = useRef(new Compartment());

  const contentAttributes = (): Record<string, string> => {
    const a: Record<string, string> = { "aria-label": props.label, "aria-multiline": "true", role: "textbox" };
    if (props.id) a.id = props.id;
    if (props["aria-invalid"]) a["aria-invalid"] = "true";
    if (props["aria-describedby"]) a["aria-describedby"] = props["aria-describedby"];
    return a;
  };

  useEffect(() => {
    if (!host.current) return;
    const lang: Extension[] =
      props.language === "javascript"
        ? [javascript()]
        : [json(), linter((v) => (v.state.doc.toString().trim() === "" ? [] : jsonParseLinter()(v)), { delay: 300 })];
    const v = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: props.value,
        extensions: [
          lineNumbers(),
          highlightActiveLineGutter(),
          highlightActiveLine(),
          history(),
          bracketMatching(),
          syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
          lintGutter(),
          keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
          autocompletion({ override: [templateCompletions(() => hints.current)], activateOnTyping: true }),
          placeholderExt(props.placeholder ?? ""),
          EditorView.lineWrapping,
          attrs.current.of(EditorView.contentAttributes.of(contentAttributes())),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChange.current(u.state.doc.toString());
          }),
          EditorView.theme({
            "&": { fontSize: "12px", backgroundColor: "white" },
            ".cm-content": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace", minHeight: `${(props.minLines ?? 4) * 18}px` },
            ".cm-gutters": { backgroundColor: "#f8fafc", color: "#475569", borderRight: "1px solid #e2e8f0" },
            "&.cm-focused": { outline: "2px solid #6366f1" },
            ".cm-placeholder": { color: "#475569" },
          }),
          ...lang,
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // The editor is made once; value, attributes and errors follow below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // An outside change of the value (a loaded workflow, a reset) replaces the document.
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== props.value) {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: props.value } });
    }
  }, [props.value]);

  useEffect(() => {
    view.current?.dispatch({ effects: attrs.current.reconfigure(EditorView.contentAttributes.of(contentAttributes())) });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.label, props.id, props["aria-invalid"], props["aria-describedby"]]);

  // The API's error, at its line.
  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const diagnostics: Diagnostic[] = [];
    if (props.errorMessage && props.errorLine && props.errorLine <= v.state.doc.lines) {
      const line = v.state.doc.line(props.errorLine);
      diagnostics.push({ from: line.from, to: line.to, severity: "error", message: props.errorMessage, source: "turbocat" });
    }
    v.dispatch(setDiagnostics(v.state, diagnostics));
  }, [props.errorLine, props.errorMessage]);

  return (
    <div
      ref={host}
      data-testid={`editor-${props.label}`}
      data-error-line={props.errorLine ?? undefined}
      className={cn(
        "overflow-hidden rounded-md border border-border",
        props["aria-invalid"] ? "border-destructive" : null,
        props.className,
      )}
    />
  );
}
