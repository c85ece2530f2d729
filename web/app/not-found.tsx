import Link from "next/link";

export default function NotFound() {
  return (
    <div className="mx-auto max-w-md py-16 text-center">
      <h1 className="text-2xl font-semibold">Page not found</h1>
      <p className="mt-2 text-muted-foreground">
        That page does not exist. Go back to the <Link className="text-primary underline" href="/">dashboard</Link>.
      </p>
    </div>
  );
}
