"""Web plumbing shared by the blueprints: guards, parameters, responses, errors, i18n."""
