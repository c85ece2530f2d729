import * as React from "react";
import { cn } from "@/lib/utils";
import type { ExecutionStatus, StepStatus } from "@/lib/types";

/** Card is a bordered panel. */
export function Card({ className, ...props }: React.HTMLAttributes<HTMLDivElement>) {
  return <div className={cn("rounded-lg border border-border bg-white p-4 shadow-xs", className)} {...props} />;
}

/** CardTitle is a card's heading. */
export function CardTitle({ className, ...props }: React.HTMLAttributes<HTMLHeadingElement>) {
  return <h2 className={cn("mb-3 text-base font-semibold", className)} {...props} />;
}

/** PageHeader is a page's title, description and actions. */
export function PageHeader({
  title,
  description,
  actions,
}: {
  title: string;
  description?: React.ReactNode;
  actions?: React.ReactNode;
}) {
  return (
    <div className="mb-6 flex flex-wrap items-start justify-between gap-3">
      <div>
        <h1 className="text-2xl font-semibold">{title}</h1>
        {description ? <p className="mt-1 text-sm text-muted-foreground">{description}</p> : null}
      </div>
      {actions ? <div className="flex flex-wrap gap-2">{actions}</div> : null}
    </div>
  );
}

/** EmptyState says what is missing and what to do next. */
export function EmptyState({ title, children }: { title: string; children?: React.ReactNode }) {
  return (
    <div className="rounded-lg border border-dashed border-slate-300 p-8 text-center">
      <p className="font-medium">{title}</p>
      {children ? <div className="mt-2 text-sm text-muted-foreground">{children}</div> : null}
    </div>
  );
}

const statusColours: Record<string, string> = {
  queued: "bg-slate-100 text-slate-800 border-slate-300",
  pending: "bg-slate-100 text-slate-800 border-slate-300",
  running: "bg-blue-100 text-blue-900 border-blue-300",
  completed: "bg-green-100 text-green-900 border-green-300",
  active: "bg-green-100 text-green-900 border-green-300",
  failed: "bg-red-100 text-red-900 border-red-300",
  cancelled: "bg-amber-100 text-amber-900 border-amber-300",
  timed_out: "bg-amber-100 text-amber-900 border-amber-300",
  waiting: "bg-violet-100 text-violet-900 border-violet-300",
  skipped: "bg-slate-100 text-slate-700 border-dashed border-slate-400",
  disabled: "bg-slate-100 text-slate-700 border-slate-300",
  inactive: "bg-slate-100 text-slate-700 border-slate-300",
};

/** Badge is a small label. */
export function Badge({ className, ...props }: React.HTMLAttributes<HTMLSpanElement>) {
  return (
    <span
      className={cn("inline-flex items-center rounded-full border px-2 py-0.5 text-xs font-medium", className)}
      {...props}
    />
  );
}

/** StatusBadge colours an execution, step, agent or deployment status. */
export function StatusBadge({ status }: { status: ExecutionStatus | StepStatus | string }) {
  return (
    <Badge className={statusColours[status] ?? statusColours.pending} data-status={status}>
      {status.replace("_", " ")}
    </Badge>
  );
}

/** Spinner is an inline progress indicator with a text for screen readers. */
export function Spinner({ label = "Loading" }: { label?: string }) {
  return (
    <span role="status" className="inline-flex items-center gap-2 text-sm text-muted-foreground">
      <span className="h-4 w-4 animate-spin rounded-full border-2 border-slate-300 border-t-primary" aria-hidden />
      {label}…
    </span>
  );
}
