// rollouts.jsx — the Rollouts view (to come).
import { Empty, Page } from '../ui.jsx';

export default function View() {
  return (
    <Page title="Rollouts">
      <Empty>This view is not built yet.</Empty>
    </Page>
  );
}
