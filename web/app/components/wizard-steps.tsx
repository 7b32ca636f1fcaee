const STEPS = ["Describe", "Confirm the plan", "Build"] as const;

/** Where the wizard is: 1 the brief, 2 the plan, 3 the build. */
export function WizardSteps({ current }: { current: 1 | 2 | 3 }) {
  return (
    <ol className="wizard-steps" aria-label="Steps">
      {STEPS.map((label, index) => {
        const step = index + 1;
        const state = step < current ? "done" : step === current ? "current" : "todo";
        return (
          <li
            key={label}
            className={`wizard-step wizard-step-${state}`}
            aria-current={state === "current" ? "step" : undefined}
          >
            <span className="wizard-step-number" aria-hidden="true">
              {step}
            </span>
            {label}
          </li>
        );
      })}
    </ol>
  );
}
