"use client";

import { useRouter } from "next/navigation";
import { ConfirmButton } from "@/components/ui/dialog";
import { api, errorMessage } from "@/lib/api";

type Props = {
  /** noun names the resource on the button ("agent"). */
  noun: string;
  name: string;
  /** path is the resource's API path; back the page to go to once deleted. */
  path: string;
  back: string;
  /** description says what deleting it does to what uses it. */
  description: string;
  onError: (message: string) => void;
};

/** DeleteButton deletes a resource after a confirmation, then goes back to its list. */
export function DeleteButton({ noun, name, path, back, description, onError }: Props) {
  const router = useRouter();
  return (
    <ConfirmButton
      trigger={`Delete ${noun}`}
      triggerVariant="destructive"
      title={`Delete ${name}?`}
      description={description}
      confirm="Delete"
      onConfirm={async () => {
        try {
          await api(path, { method: "DELETE" });
          router.replace(back);
        } catch (err) {
          onError(errorMessage(err));
        }
      }}
    />
  );
}
